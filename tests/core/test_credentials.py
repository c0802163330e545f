"""Credentials and the `auth` stage: pure logic (the Kafka and HTTP paths are tested in tests/control)."""

import base64
import hashlib
import hmac
from datetime import datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from hub.core.credentials import (
    CREDENTIAL_HEADER,
    HTTP_SIGNED_AT_HEADER,
    SIGNATURE_HEADER,
    SIGNED_AT_HEADER,
    AuthError,
    Credential,
    Keyring,
    issue,
    seal_headers,
    signature_base,
)
from hub.core.directory import ConnectorSpec, Directory
from hub.core.envelope import encode
from hub.core.rejection import Rejection
from hub.core.routing import Delivery, route
from hub.core.schemas.registry import SchemaRegistry, bundled_schemas_dir
from hub.testing.samples import dossier_submitted

NOW = 1_700_000_000.0


@pytest.fixture(scope="module")
def directory():
    return Directory.of([
        ConnectorSpec(id="mot-cua", name="Một cửa", agency="H22", produces=["dossier.submitted"]),
        ConnectorSpec(id="ndxp", name="NDXP", agency="NDXP", level="national", produces=["dossier.submitted"],
                      consumes=["dossier.submitted"]),
    ])


@pytest.fixture(scope="module", params=["ed25519", "hmac-sha256"])
def keys(request):
    """Two connectors' credentials of one algorithm, and the hub's keyring of them."""
    mot_cua, mot_cua_row = issue("mot-cua", request.param)
    ndxp, ndxp_row = issue("ndxp", request.param)
    return mot_cua, ndxp, Keyring([mot_cua_row, ndxp_row])


def decide(raw, seal, schemas, directory, keyring, now=NOW, max_age=300.0):
    return route(raw, schemas, directory, 100_000, keyring, seal, now, max_age=max_age)


def seal_of(credential, raw, signed_at=int(NOW)):
    headers = dict(credential.headers(raw, signed_at))
    return headers[CREDENTIAL_HEADER], headers[SIGNATURE_HEADER], headers[SIGNED_AT_HEADER]


def test_a_signed_message_is_routed(schemas, directory, keys):
    mot_cua, _, keyring = keys
    raw = encode(dossier_submitted())
    assert isinstance(decide(raw, seal_of(mot_cua, raw), schemas, directory, keyring), Delivery)


def rejection(outcome):
    assert isinstance(outcome, Rejection), outcome
    return outcome.stage, outcome.errors[0].field, outcome.errors[0].rule


def test_unsigned_is_refused_before_decoding(schemas, directory, keys):
    assert rejection(decide(b"{not json", (None, None, None), schemas, directory, keys[2])) == (
        "auth", SIGNATURE_HEADER, "signed")


def test_a_changed_payload_under_a_replayed_signature_is_refused(schemas, directory, keys):
    mot_cua, _, keyring = keys
    raw = encode(dossier_submitted())
    changed = raw.replace(b'"KenhThucHien":2', b'"KenhThucHien":1')  # online → at the counter
    assert changed != raw
    assert rejection(decide(changed, seal_of(mot_cua, raw), schemas, directory, keyring)) == (
        "auth", SIGNATURE_HEADER, "validSignature")


def test_a_wrong_key_is_refused(schemas, directory, keys):
    mot_cua, _, keyring = keys
    raw = encode(dossier_submitted())
    impostor, _ = issue("mot-cua", mot_cua.algorithm)  # same connector name, a key the hub never issued
    forged = Credential(mot_cua.id, mot_cua.algorithm, impostor.secret)
    assert rejection(decide(raw, seal_of(forged, raw), schemas, directory, keyring)) == (
        "auth", SIGNATURE_HEADER, "validSignature")


def test_a_spoofed_source_is_refused(schemas, directory, keys):
    _, ndxp, keyring = keys
    raw = encode(dossier_submitted())  # source mot-cua, signed by ndxp
    outcome = decide(raw, seal_of(ndxp, raw), schemas, directory, keyring)
    assert rejection(outcome) == ("auth", "envelope.source", "signerIsSource")
    assert "'ndxp'" in outcome.reason


def test_unknown_and_expired_credentials(schemas, directory):
    credential, row = issue("mot-cua")
    raw = encode(dossier_submitted())
    assert rejection(decide(raw, seal_of(credential, raw), schemas, directory, Keyring())) == (
        "auth", CREDENTIAL_HEADER, "activeCredential")
    expires = datetime.fromtimestamp(NOW, timezone.utc) + timedelta(seconds=60)
    keyring = Keyring([{**row, "expires_at": expires}])
    assert isinstance(decide(raw, seal_of(credential, raw), schemas, directory, keyring, NOW + 59), Delivery)
    assert rejection(decide(raw, seal_of(credential, raw), schemas, directory, keyring, NOW + 60))[2] == (
        "activeCredential")


def test_a_naive_expiry_from_sqlite_is_read_as_utc():
    credential, row = issue("mot-cua")
    expires = datetime.fromtimestamp(NOW + 10, timezone.utc).replace(tzinfo=None)
    keyring = Keyring([{**row, "expires_at": expires}])
    with pytest.raises(AuthError):
        keyring.signer(*seal_of(credential, b"x"), b"x", NOW + 10)
    assert keyring.signer(*seal_of(credential, b"x"), b"x", NOW + 9) == "mot-cua"


def test_the_vendor_keeps_its_own_private_key():
    private = SigningKey.generate()  # made by the vendor; only the public half goes to the hub
    public_key = base64.urlsafe_b64encode(bytes(private.verify_key)).decode()
    nothing, row = issue("vendor", public_key=public_key)
    assert nothing is None and row["verify_key"] == public_key
    signed_by_vendor = Credential(row["id"], "ed25519", bytes(private))
    assert Keyring([row]).signer(*seal_of(signed_by_vendor, b"m"), b"m", NOW) == "vendor"
    with pytest.raises(ValueError):
        issue("vendor", public_key="not-a-key")


def test_the_credential_string_round_trips_and_hides_its_secret():
    credential, _ = issue("mot-cua", "hmac-sha256")
    assert Credential.parse(str(credential)) == credential
    assert credential.id.startswith("mot-cua.") and str(credential.secret) not in repr(credential)
    with pytest.raises(ValueError, match="id:algorithm:secret"):
        Credential.parse("mot-cua.1:rsa:AAAA")


@settings(max_examples=300, deadline=None)
@given(credential_id=st.one_of(st.none(), st.binary(max_size=90)),
       signature=st.one_of(st.none(), st.binary(max_size=120)),
       signed_at=st.one_of(st.none(), st.binary(max_size=20), st.integers(0, 10**13).map(lambda n: str(n).encode())),
       raw=st.binary(max_size=300))
def test_fuzzed_seals_are_refused_never_raised(credential_id, signature, signed_at, raw):
    """Whatever arrives in the headers, the answer is a Rejection at stage auth, never an exception."""
    _, row = issue("mot-cua")
    registry = SchemaRegistry.from_dirs(bundled_schemas_dir())
    outcome = route(raw, registry, Directory(), 100_000, Keyring([row]), (credential_id, signature, signed_at), NOW)
    assert isinstance(outcome, Rejection) and outcome.stage == "auth"
    orjson.dumps(outcome.reason)  # printable


def test_the_signature_covers_the_signing_time_before_the_bytes():
    credential, _ = issue("mot-cua", "hmac-sha256")
    raw = b'{"any": "bytes"}'
    base = b'lgsp-signed-at:1700000000\n{"any": "bytes"}'  # as docs/connectors.md gives it
    assert signature_base(raw, 1_700_000_000) == base
    expected = base64.urlsafe_b64encode(hmac.digest(credential.secret, base, hashlib.sha256)).rstrip(b"=").decode()
    assert credential.sign(raw, 1_700_000_000) == expected
    assert dict(credential.headers(raw, 1_700_000_000))[SIGNED_AT_HEADER] == b"1700000000"
    assert credential.http_headers(raw, 1_700_000_000)[HTTP_SIGNED_AT_HEADER] == "1700000000"
    assert seal_headers(*seal_of(credential, raw))[2] == (SIGNED_AT_HEADER, b"1700000000")


def test_a_message_without_a_signing_time_is_refused_saying_what_to_send(schemas, directory, keys):
    mot_cua, _, keyring = keys
    raw = encode(dossier_submitted())
    credential_id, signature, _ = seal_of(mot_cua, raw)
    outcome = decide(raw, (credential_id, signature, None), schemas, directory, keyring)
    assert rejection(outcome) == ("auth", SIGNED_AT_HEADER, "fresh")
    assert "lgsp.signed-at" in outcome.errors[0].message and "lgsp-signed-at:" in outcome.errors[0].message
    for broken in (b"", b"-5", b"1.7e9", b"soon"):
        assert rejection(decide(raw, (credential_id, signature, broken), schemas, directory, keyring)) == (
            "auth", SIGNED_AT_HEADER, "fresh")


def test_a_signing_time_changed_under_its_signature_is_refused(schemas, directory, keys):
    mot_cua, _, keyring = keys
    raw = encode(dossier_submitted())
    credential_id, signature, signed_at = seal_of(mot_cua, raw, int(NOW) - 600)  # captured long ago
    moved = (credential_id, signature, str(int(NOW)).encode())  # and dated now by the one replaying it
    assert rejection(decide(raw, moved, schemas, directory, keyring)) == ("auth", SIGNATURE_HEADER, "validSignature")


def test_a_signature_is_fresh_for_max_age_and_a_little_ahead(schemas, directory, keys):
    mot_cua, _, keyring = keys
    raw = encode(dossier_submitted())

    def outcome(age: int, max_age: float = 300.0):
        return decide(raw, seal_of(mot_cua, raw, int(NOW) - age), schemas, directory, keyring, max_age=max_age)

    assert isinstance(outcome(300), Delivery) and isinstance(outcome(-30), Delivery)
    old = outcome(301)
    assert rejection(old) == ("auth", SIGNED_AT_HEADER, "fresh")
    assert "301 s old" in old.errors[0].message and "at most 300 s" in old.errors[0].message
    ahead = outcome(-31)
    assert rejection(ahead) == ("auth", SIGNED_AT_HEADER, "fresh") and "31 s ahead" in ahead.errors[0].message
    assert rejection(outcome(61, max_age=60))[2] == "fresh"  # LGSP_SIGNATURE_MAX_AGE_SECONDS
