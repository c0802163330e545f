"""Credentials and the `auth` stage: pure logic (the Kafka and HTTP paths are tested in tests/control)."""

import base64
from datetime import datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from hub.core.credentials import CREDENTIAL_HEADER, SIGNATURE_HEADER, AuthError, Credential, Keyring, issue
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


def decide(raw, seal, schemas, directory, keyring, now=NOW):
    return route(raw, schemas, directory, 100_000, keyring, seal, now)


def seal_of(credential, raw):
    headers = dict(credential.headers(raw))
    return headers[CREDENTIAL_HEADER], headers[SIGNATURE_HEADER]


def test_a_signed_message_is_routed(schemas, directory, keys):
    mot_cua, _, keyring = keys
    raw = encode(dossier_submitted())
    assert isinstance(decide(raw, seal_of(mot_cua, raw), schemas, directory, keyring), Delivery)


def rejection(outcome):
    assert isinstance(outcome, Rejection), outcome
    return outcome.stage, outcome.errors[0].field, outcome.errors[0].rule


def test_unsigned_is_refused_before_decoding(schemas, directory, keys):
    assert rejection(decide(b"{not json", (None, None), schemas, directory, keys[2])) == (
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
        keyring.signer(credential.id, credential.sign(b"x"), b"x", NOW + 10)
    assert keyring.signer(credential.id, credential.sign(b"x"), b"x", NOW + 9) == "mot-cua"


def test_the_vendor_keeps_its_own_private_key():
    private = SigningKey.generate()  # made by the vendor; only the public half goes to the hub
    public_key = base64.urlsafe_b64encode(bytes(private.verify_key)).decode()
    nothing, row = issue("vendor", public_key=public_key)
    assert nothing is None and row["verify_key"] == public_key
    signed_by_vendor = Credential(row["id"], "ed25519", bytes(private))
    assert Keyring([row]).signer(row["id"], signed_by_vendor.sign(b"m"), b"m", NOW) == "vendor"
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
       signature=st.one_of(st.none(), st.binary(max_size=120)), raw=st.binary(max_size=300))
def test_fuzzed_seals_are_refused_never_raised(credential_id, signature, raw):
    """Whatever arrives in the headers, the answer is a Rejection at stage auth, never an exception."""
    _, row = issue("mot-cua")
    registry = SchemaRegistry.from_dirs(bundled_schemas_dir())
    outcome = route(raw, registry, Directory(), 100_000, Keyring([row]), (credential_id, signature), NOW)
    assert isinstance(outcome, Rejection) and outcome.stage == "auth"
    orjson.dumps(outcome.reason)  # printable
