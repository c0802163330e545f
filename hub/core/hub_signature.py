r"""The hub's own signature, over a message it projected under a data-sharing agreement.

The source's signature covers the bytes it sent; a consumer under an agreement receives fewer. The hub signs
what it delivers with its Ed25519 key (its public half is served at /v1/keys as a JWK set) over

    b"lgsp-projection:" + <agreement id> + b"\n" + <the original's digest, hex> + b"\n"
      + signature_base(<the bytes delivered>, <signing time>)

so the agreement and the original cannot be swapped for others. The original's digest is an HMAC-SHA256
under a key only the hub holds, not a plain SHA-256: a consumer holds the whole envelope but the members
withheld from it, and with a plain hash (or the source's own signature, an oracle just as good) it could try
guesses of a short member (a birth date, which fields of a verification disagreed) until one matched. So a
projected record carries neither; the hub, which checked the source's signature, vouches for the original
with the digest, and can recompute it from the message should a dispute need it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from hub.core.credentials import signature_base

AGREEMENT_HEADER = "lgsp.agreement"
ORIGINAL_DIGEST_HEADER = "lgsp.original-digest"
HUB_KEY_HEADER = "lgsp.hub-key"
HUB_SIGNATURE_HEADER = "lgsp.hub-signature"
HUB_SIGNED_AT_HEADER = "lgsp.hub-signed-at"
PROJECTION_HEADERS = (AGREEMENT_HEADER, ORIGINAL_DIGEST_HEADER, HUB_KEY_HEADER, HUB_SIGNATURE_HEADER,
                      HUB_SIGNED_AT_HEADER)
# The same on an HTTP answer (a service's reply to a call over HTTP): LGSP-Agreement, LGSP-Original-Digest, …
HTTP_PROJECTION_HEADERS = {name: "LGSP-" + "-".join(part.title() for part in name.removeprefix("lgsp.").split("-"))
                           for name in PROJECTION_HEADERS}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def projection_base(raw: bytes, agreement: bytes, original_digest: bytes, signed_at: bytes) -> bytes:
    return b"lgsp-projection:" + agreement + b"\n" + original_digest + b"\n" + signature_base(raw, signed_at)


def key_id(public: bytes) -> str:
    """A key's id: the start of the SHA-256 of its public half (RFC 7638's thumbprint idea, shortened)."""
    return "hub-" + hashlib.sha256(public).hexdigest()[:16]


class HubKey:
    """The hub's signing key (the seed is kept in the store, shared by its processes)."""

    def __init__(self, seed: bytes) -> None:
        self._key = SigningKey(seed)
        self._digest_key = hmac.digest(seed, b"lgsp-original-digest", "sha256")
        self.public = bytes(self._key.verify_key)
        self.id = key_id(self.public)

    @classmethod
    def parse(cls, text: str) -> HubKey:
        return cls(_unb64(text))

    @staticmethod
    def new_seed() -> str:
        return _b64(bytes(SigningKey.generate()))

    def headers(self, raw: bytes, agreement: str, original: bytes, signed_at: int | None = None
                ) -> list[tuple[str, bytes]]:
        """The headers a projected record adds: its agreement, the original's hash and the hub's signature."""
        at = str(int(time.time()) if signed_at is None else signed_at).encode()
        digest = self.original_digest(original).encode()
        signature = self._key.sign(projection_base(raw, agreement.encode(), digest, at)).signature
        return [(AGREEMENT_HEADER, agreement.encode()), (ORIGINAL_DIGEST_HEADER, digest),
                (HUB_KEY_HEADER, self.id.encode()), (HUB_SIGNATURE_HEADER, _b64(signature).encode()),
                (HUB_SIGNED_AT_HEADER, at)]

    def original_digest(self, original: bytes) -> str:
        """What stands for the bytes the source sent on a projection of them: checkable by the hub alone."""
        return hmac.digest(self._digest_key, original, "sha256").hex()

    def jwk(self) -> dict[str, str]:
        """The public half as a JSON Web Key (RFC 8037: OKP, Ed25519)."""
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64(self.public), "kid": self.id, "use": "sig", "alg": "EdDSA"}


class HubSignatureError(ValueError):
    pass


@dataclass(frozen=True)
class HubKeys:
    """The hub's public keys as a receiver knows them: from /v1/keys, or handed over another way."""

    keys: Mapping[str, VerifyKey]

    @classmethod
    def of(cls, jwks: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> HubKeys:
        """From a JWK set (`{"keys": [...]}`) or a list of JWKs; only Ed25519 ones are taken."""
        entries = jwks.get("keys", []) if isinstance(jwks, Mapping) else jwks
        keys = {}
        for jwk in entries:
            if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
                public = _unb64(jwk["x"])
                keys[jwk.get("kid") or key_id(public)] = VerifyKey(public)
        return cls(keys)

    def verify(self, raw: bytes, headers: Iterable[tuple[str, bytes]]) -> str | None:
        """The agreement a projected record was delivered under, its hub signature checked; None for a record
        the hub did not project. Raises HubSignatureError when the signature is missing, unknown or wrong."""
        found = {name: value for name, value in headers if name in PROJECTION_HEADERS}
        agreement = found.get(AGREEMENT_HEADER)
        if agreement is None:
            return None
        missing = [name for name in PROJECTION_HEADERS if name not in found]
        if missing:
            raise HubSignatureError(f"projected under {agreement.decode(errors='replace')!r} but without {missing[0]}")
        kid = found[HUB_KEY_HEADER].decode(errors="replace")
        key = self.keys.get(kid)
        if key is None:
            raise HubSignatureError(f"signed with hub key {kid!r}, which is not among the keys given")
        base = projection_base(raw, agreement, found[ORIGINAL_DIGEST_HEADER], found[HUB_SIGNED_AT_HEADER])
        try:
            key.verify(base, _unb64(found[HUB_SIGNATURE_HEADER].decode()))
        except (BadSignatureError, ValueError, binascii.Error):
            raise HubSignatureError(f"the hub's signature does not match the message (key {kid!r})") from None
        return agreement.decode()
