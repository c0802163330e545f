"""Connector credentials: issued once at registration, checked on every message.

A connector signs the exact bytes it sends; the signature and the credential's id travel beside them
(Kafka record headers, or HTTP headers). Two algorithms:

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
import secrets
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
# On a request the hub put in an envelope at its HTTP edge (a call whose body was only the payload): the
# payload bytes as the caller signed them. The router checks the signature over them, and that the
# envelope carries that payload.
SIGNED_PAYLOAD_HEADER = "lgsp.signed-payload"
HTTP_CREDENTIAL_HEADER = "LGSP-Credential"
HTTP_SIGNATURE_HEADER = "LGSP-Signature"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Credential:
    """The connector's half: what it signs with. `str(credential)` is the form handed to a vendor."""

    id: str
    algorithm: Algorithm
    secret: bytes  # the Ed25519 seed, or the HMAC key
    _signing_key: SigningKey | None = field(default=None, init=False, repr=False, compare=False)

    def sign(self, raw: bytes) -> str:
        if self.algorithm == "ed25519":
            if self._signing_key is None:  # deriving the key from the seed costs as much as a signature
                object.__setattr__(self, "_signing_key", SigningKey(self.secret))
            return _b64(self._signing_key.sign(raw).signature)
        return _b64(hmac.digest(self.secret, raw, hashlib.sha256))

    def headers(self, raw: bytes) -> list[tuple[str, bytes]]:
        """Kafka record headers carrying the signature of `raw`."""
        return [(CREDENTIAL_HEADER, self.id.encode()), (SIGNATURE_HEADER, self.sign(raw).encode())]

    def http_headers(self, raw: bytes) -> dict[str, str]:
        return {HTTP_CREDENTIAL_HEADER: self.id, HTTP_SIGNATURE_HEADER: self.sign(raw)}

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


def seal(record: Any) -> tuple[bytes | None, bytes | None]:
    """A Kafka record's credential id and signature headers."""
    credential = signature = None
    for name, value in record.headers or ():
        if name == CREDENTIAL_HEADER:
            credential = value
        elif name == SIGNATURE_HEADER:
            signature = value
    return credential, signature


def signed_payload(record: Any) -> bytes | None:
    """The payload bytes a record's signature covers, when they are not the record's own value."""
    return next((value for name, value in record.headers or () if name == SIGNED_PAYLOAD_HEADER), None)


def seal_headers(credential: bytes | str | None, signature: bytes | str | None) -> list[tuple[str, bytes]]:
    """A seal as it came over HTTP, as the Kafka record headers the router reads (none when incomplete)."""
    if not credential or not signature:
        return []
    as_bytes = [value if isinstance(value, bytes) else value.encode() for value in (credential, signature)]
    return [(CREDENTIAL_HEADER, as_bytes[0]), (SIGNATURE_HEADER, as_bytes[1])]


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

    def signer(self, credential_id: bytes | str | None, signature: bytes | str | None, raw: bytes,
               now: float) -> str:
        """The connector whose credential signed `raw`; raises AuthError saying what is wrong."""
        if not credential_id or not signature:
            raise AuthError(SIGNATURE_HEADER, "signed", "the message is not signed: give the lgsp.credential and "
                            "lgsp.signature headers")
        credential_id = credential_id.decode(errors="replace") if isinstance(credential_id, bytes) else credential_id
        verifier = self._verifiers.get(credential_id)
        if verifier is None:
            raise AuthError(CREDENTIAL_HEADER, "activeCredential",
                            f"credential {credential_id[:80]!r} is unknown or revoked")
        if verifier.expires_at is not None and now >= verifier.expires_at:
            raise AuthError(CREDENTIAL_HEADER, "activeCredential",
                            f"credential {credential_id!r} expired after its rotation")
        if not self._valid(verifier, signature, raw):
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
