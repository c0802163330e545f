r"""Connector credentials: issued once at registration, checked on every message.

A connector signs the exact bytes it sends together with the time it signs them, as RFC 9421's `created`
parameter does (the envelope's `occurred_at` follows the sender's clock, which may be simulated and
accelerated: it cannot date a signature). The signature base is

    b"lgsp-signed-at:" + <the lgsp.signed-at header's value, ASCII digits> + b"\n" + <the exact bytes sent>

and the signing time, the signature and the credential's id travel beside the bytes (Kafka record headers,
or HTTP headers). The time is whole Unix seconds; the hub refuses a signature older than
LGSP_SIGNATURE_MAX_AGE_SECONDS, or more than FUTURE_SKEW_SECONDS ahead of its clock. Two algorithms:

- `ed25519` (the default, libsodium through PyNaCl): the hub keeps only the public half, so neither the
  store nor the hub can sign for a connector, and a logged signature proves who sent a message.
  Verifying costs ~55 µs on the development machines.
- `hmac-sha256`: ~2 µs to verify, for connectors with high rates; the hub must keep the key itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from hub.core.errors import HubError

Algorithm = Literal["ed25519", "hmac-sha256"]
ALGORITHMS: tuple[str, ...] = ("ed25519", "hmac-sha256")

# Where a signature travels: Kafka record headers, and the same names on HTTP.
CREDENTIAL_HEADER = "lgsp.credential"
SIGNATURE_HEADER = "lgsp.signature"
SIGNED_AT_HEADER = "lgsp.signed-at"  # when the signature was made: Unix seconds, ASCII digits
# On a request the hub put in an envelope at its HTTP edge (a call whose body was only the payload): the
# payload bytes as the caller signed them. The router checks the signature over them, and that the
# envelope carries that payload.
SIGNED_PAYLOAD_HEADER = "lgsp.signed-payload"
HTTP_CREDENTIAL_HEADER = "LGSP-Credential"
HTTP_SIGNATURE_HEADER = "LGSP-Signature"
HTTP_SIGNED_AT_HEADER = "LGSP-Signed-At"

SIGNATURE_MAX_AGE_SECONDS = 300.0  # the default of LGSP_SIGNATURE_MAX_AGE_SECONDS
FUTURE_SKEW_SECONDS = 30.0  # how far ahead of the hub's clock a sender's may run
_SIGNED_AT = re.compile(rb"[0-9]{1,12}")


def signature_base(raw: bytes, signed_at: int | str | bytes) -> bytes:
    """What a signature covers: the signing time, as its header carries it, bound to the exact bytes."""
    at = signed_at if isinstance(signed_at, bytes) else str(signed_at).encode()
    return b"lgsp-signed-at:" + at + b"\n" + raw


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def canonical(signature: bytes | str) -> str:
    """One spelling of a signature: base64url decoding forgives padding and unused bits, so several strings
    carry the same signature, and a replay window keyed on the string must see them as one."""
    text = signature.decode(errors="replace") if isinstance(signature, bytes) else signature
    try:
        return _b64(_unb64(text))
    except (ValueError, binascii.Error):
        return text


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Credential:
    """The connector's half: what it signs with. `str(credential)` is the form handed to a vendor."""

    id: str
    algorithm: Algorithm
    secret: bytes  # the Ed25519 seed, or the HMAC key
    _signing_key: SigningKey | None = field(default=None, init=False, repr=False, compare=False)

    def sign(self, raw: bytes, signed_at: int) -> str:
        """The signature of `raw` signed at `signed_at` (Unix seconds): over its signature base."""
        base = signature_base(raw, signed_at)
        if self.algorithm == "ed25519":
            if self._signing_key is None:  # deriving the key from the seed costs as much as a signature
                object.__setattr__(self, "_signing_key", SigningKey(self.secret))
            return _b64(self._signing_key.sign(base).signature)
        return _b64(hmac.digest(self.secret, base, hashlib.sha256))

    def headers(self, raw: bytes, signed_at: int | None = None) -> list[tuple[str, bytes]]:
        """Kafka record headers carrying the signature of `raw`, signed now unless told when."""
        at = int(time.time()) if signed_at is None else signed_at
        return [(CREDENTIAL_HEADER, self.id.encode()), (SIGNATURE_HEADER, self.sign(raw, at).encode()),
                (SIGNED_AT_HEADER, str(at).encode())]

    def http_headers(self, raw: bytes, signed_at: int | None = None) -> dict[str, str]:
        at = int(time.time()) if signed_at is None else signed_at
        return {HTTP_CREDENTIAL_HEADER: self.id, HTTP_SIGNATURE_HEADER: self.sign(raw, at),
                HTTP_SIGNED_AT_HEADER: str(at)}

    def __str__(self) -> str:
        return f"{self.id}:{self.algorithm}:{_b64(self.secret)}"

    def __repr__(self) -> str:  # never print the secret by accident
        return f"Credential({self.id!r}, {self.algorithm!r})"

    @classmethod
    def parse(cls, text: str) -> Credential:
        """The `id:algorithm:secret` form (LGSP_CONNECTOR_CREDENTIAL)."""
        try:
            credential_id, algorithm, secret = text.strip().rsplit(":", 2)
            if algorithm not in ALGORITHMS:
                raise ValueError(f"unknown algorithm {algorithm!r}")
            return cls(credential_id, algorithm, _unb64(secret))  # type: ignore[arg-type]
        except (ValueError, binascii.Error) as exc:
            raise ValueError(f"a credential reads 'id:algorithm:secret' ({exc})") from None


def issue(connector_id: str, algorithm: Algorithm = "ed25519",
          public_key: str | None = None) -> tuple[Credential | None, dict[str, Any]]:
    """A new credential: the connector's half (None when it brought its own Ed25519 key) and the hub's."""
    credential_id = f"{connector_id}.{secrets.token_hex(4)}"
    if public_key is not None:
        if algorithm != "ed25519":
            raise ValueError("only ed25519 credentials take the connector's own public key")
        VerifyKey(_unb64(public_key))  # raises ValueError when it is not one
        return None, {"id": credential_id, "connector_id": connector_id, "algorithm": algorithm,
                      "verify_key": public_key}
    if algorithm == "ed25519":
        private = SigningKey.generate()
        secret, verify_key = bytes(private), _b64(bytes(private.verify_key))
    else:
        secret = secrets.token_bytes(32)
        verify_key = _b64(secret)
    return Credential(credential_id, algorithm, secret), {
        "id": credential_id, "connector_id": connector_id, "algorithm": algorithm, "verify_key": verify_key}


def seal(record: Any) -> tuple[bytes | None, bytes | None, bytes | None]:
    """A Kafka record's credential id, signature and signing time headers."""
    credential = signature = signed_at = None
    for name, value in record.headers or ():
        if name == CREDENTIAL_HEADER:
            credential = value
        elif name == SIGNATURE_HEADER:
            signature = value
        elif name == SIGNED_AT_HEADER:
            signed_at = value
    return credential, signature, signed_at


def signed_payload(record: Any) -> bytes | None:
    """The payload bytes a record's signature covers, when they are not the record's own value."""
    return next((value for name, value in record.headers or () if name == SIGNED_PAYLOAD_HEADER), None)


def seal_headers(credential: bytes | str | None, signature: bytes | str | None,
                 signed_at: bytes | str | None = None) -> list[tuple[str, bytes]]:
    """A seal as it came over HTTP, as the Kafka record headers the router reads (none when incomplete)."""
    if not credential or not signature:
        return []
    given = [(CREDENTIAL_HEADER, credential), (SIGNATURE_HEADER, signature), (SIGNED_AT_HEADER, signed_at)]
    return [(name, value if isinstance(value, bytes) else value.encode()) for name, value in given if value]


def http_seal(headers: Any) -> tuple[str | None, str | None, str | None]:
    """The seal of an HTTP request (credential id, signature, signing time), from its headers."""
    return (headers.get(HTTP_CREDENTIAL_HEADER), headers.get(HTTP_SIGNATURE_HEADER),
            headers.get(HTTP_SIGNED_AT_HEADER))


def signing_time(signed_at: bytes | str | None) -> int:
    """The signing time a seal carries, in Unix seconds; raises AuthError (rule `fresh`) when none is given."""
    at = signed_at.encode() if isinstance(signed_at, str) else signed_at
    if not at:
        raise AuthError(SIGNED_AT_HEADER, "fresh", "the message has no signing time: give the lgsp.signed-at "
                        "header (LGSP-Signed-At over HTTP), the Unix time in seconds of the signature, and sign "
                        "b'lgsp-signed-at:<that time>\\n' followed by the exact bytes")
    if _SIGNED_AT.fullmatch(at) is None:
        raise AuthError(SIGNED_AT_HEADER, "fresh", f"the signing time {at[:20].decode(errors='replace')!r} is not "
                        "a Unix time in whole seconds (ASCII digits)")
    return int(at)


def fresh(signed_at: bytes | str | None, now: float, max_age: float = SIGNATURE_MAX_AGE_SECONDS) -> int:
    """The signing time, when it lies in the window [now - max_age, now + FUTURE_SKEW_SECONDS]; else AuthError."""
    at = signing_time(signed_at)
    age = now - at
    if age > max_age:
        raise AuthError(SIGNED_AT_HEADER, "fresh", f"the signature is {age:.0f} s old: the hub accepts signatures "
                        f"at most {max_age:g} s old (LGSP_SIGNATURE_MAX_AGE_SECONDS); sign it again")
    if -age > FUTURE_SKEW_SECONDS:
        raise AuthError(SIGNED_AT_HEADER, "fresh", f"the signature is dated {-age:.0f} s ahead of the hub's clock: "
                        f"at most {FUTURE_SKEW_SECONDS:g} s ahead is accepted; check the sender's clock")
    return at


class AuthError(HubError):
    """Why a message's signature is not accepted: the field it concerns and the rule."""

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.field, self.rule, self.message = field, rule, message


@dataclass(frozen=True, slots=True)
class _Verifier:
    connector: str
    algorithm: str
    key: Any  # VerifyKey, or the HMAC key bytes
    expires_at: float | None


def _epoch(at: datetime | None) -> float | None:
    """SQLite hands datetimes back without their zone; the store writes UTC."""
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).timestamp()


class Keyring:
    """The hub's halves of every active credential, swapped whole when the store changes."""

    def __init__(self, rows: Iterable[dict[str, Any]] = ()) -> None:
        self._verifiers: dict[str, _Verifier] = {}
        for row in rows:
            raw = _unb64(row["verify_key"])
            key = VerifyKey(raw) if row["algorithm"] == "ed25519" else raw
            self._verifiers[row["id"]] = _Verifier(row["connector_id"], row["algorithm"], key,
                                                   _epoch(row.get("expires_at")))

    def __len__(self) -> int:
        return len(self._verifiers)

    @property
    def worth_threads(self) -> bool:
        """Ed25519 verification frees the GIL; an HMAC over a small message does not."""
        return any(v.algorithm == "ed25519" for v in self._verifiers.values())

    def signer(self, credential_id: bytes | str | None, signature: bytes | str | None,
               signed_at: bytes | str | None, raw: bytes, now: float) -> str:
        """The connector whose credential signed `raw` at `signed_at`; raises AuthError saying what is wrong.
        Whether the signing time is recent enough is `fresh()`'s to say."""
        if not credential_id or not signature:
            raise AuthError(SIGNATURE_HEADER, "signed", "the message is not signed: give the lgsp.credential, "
                            "lgsp.signature and lgsp.signed-at headers")
        signing_time(signed_at)
        signed_at = signed_at if isinstance(signed_at, bytes) else signed_at.encode()
        credential_id = credential_id.decode(errors="replace") if isinstance(credential_id, bytes) else credential_id
        verifier = self._verifiers.get(credential_id)
        if verifier is None:
            raise AuthError(CREDENTIAL_HEADER, "activeCredential",
                            f"credential {credential_id[:80]!r} is unknown or revoked")
        if verifier.expires_at is not None and now >= verifier.expires_at:
            raise AuthError(CREDENTIAL_HEADER, "activeCredential",
                            f"credential {credential_id!r} expired after its rotation")
        if not self._valid(verifier, signature, signature_base(raw, signed_at)):
            raise AuthError(SIGNATURE_HEADER, "validSignature",
                            f"the signature does not match the message for credential {credential_id!r}")
        return verifier.connector

    @staticmethod
    def _valid(verifier: _Verifier, signature: bytes | str, raw: bytes) -> bool:
        try:
            given = _unb64(signature.decode() if isinstance(signature, bytes) else signature)
        except (ValueError, binascii.Error):
            return False
        if verifier.algorithm == "hmac-sha256":
            return hmac.compare_digest(given, hmac.digest(verifier.key, raw, hashlib.sha256))
        try:
            verifier.key.verify(raw, given)
            return True
        except (BadSignatureError, ValueError):  # ValueError: not 64 bytes
            return False
