"""The routing decision for one ingress record: pure logic, no I/O.

Stages in order: auth (the signature over the exact bytes and its signing time, by
an active credential, made recently enough), decode (bytes → JSON object), envelope (strict model, and the
source must be the signer), schema (payload against its type and version),
routing (who may send and who receives). The first failing stage rejects the
message with a reason that names the field and the rule.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson
from pydantic import ValidationError

from hub.core.agreements import Agreement, Withheld
from hub.core.credentials import SIGNATURE_MAX_AGE_SECONDS, AuthError, Keyring, fresh
from hub.core.directory import Directory
from hub.core.envelope import Envelope
from hub.core.rejection import FieldError, Rejection, field_errors
from hub.core.schemas.registry import SchemaRegistry, UnknownType, UnknownVersion


@dataclass(frozen=True, slots=True)
class Delivery:
    envelope: Envelope
    targets: tuple[str, ...]
    # Where data-sharing agreements govern a target: per target, the agreement it follows (None: the grant
    # alone); empty when none governs any. And the consumers no agreement in force lets receive it.
    terms: tuple[Agreement | None, ...] = ()
    withheld: tuple[Withheld, ...] = ()


# (credential id, signature, signing time) as they came
Seal = tuple[bytes | str | None, bytes | str | None, bytes | str | None]
UNSEALED: Seal = (None, None, None)


def route(raw: bytes, schemas: SchemaRegistry, directory: Directory, max_bytes: int,
          keyring: Keyring | None = None, seal: Seal = UNSEALED, now: float = 0.0,
          signed_payload: bytes | None = None, max_age: float = SIGNATURE_MAX_AGE_SECONDS) -> Delivery | Rejection:
    """Decide one message. Without a keyring signatures are not required (benchmarks, migrations).
    `signed_payload`: what the signature covers when the hub wrapped a signed payload in the envelope."""
    signer = authenticate(raw, max_bytes, keyring, seal, now, signed_payload, max_age)
    if isinstance(signer, Rejection):
        return signer
    return decide(raw, schemas, directory, signer, signed_payload, now or None)


def authenticate(raw: bytes, max_bytes: int, keyring: Keyring | None, seal: Seal, now: float,
                 signed_payload: bytes | None = None,
                 max_age: float = SIGNATURE_MAX_AGE_SECONDS) -> str | None | Rejection:
    """The size limit, then the signature and its age (at most `max_age` seconds at `now`): the signer (None
    without a keyring), or why not.
    Pure and thread-safe: the router runs it for a batch in threads (Ed25519 verification frees the GIL)."""
    if len(raw) > max_bytes:  # before anything is computed over the bytes
        return Rejection.of("decode", [FieldError("message", "maxBytes",
                                                  f"{len(raw)} bytes exceeds the limit of {max_bytes}")])
    if keyring is None:
        return None
    try:
        signer = keyring.signer(*seal, raw if signed_payload is None else signed_payload, now)
        fresh(seal[2], now, max_age)  # after the signature: a stale one is refused for its age only if genuine
        return signer
    except AuthError as exc:
        return Rejection.of("auth", [FieldError(exc.field, exc.rule, exc.message)])


def decide(raw: bytes, schemas: SchemaRegistry, directory: Directory, signer: str | None,
           signed_payload: bytes | None = None, now: float | None = None) -> Delivery | Rejection:
    """Decode, envelope (its source must be the signer, its payload the one signed), schema and routing
    (agreements judged in force at `now`, by default the current time)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Rejection.of("decode", [FieldError("message", "json", f"not valid JSON: {exc}")])
    if not isinstance(data, dict):
        return Rejection.of("decode", [FieldError("message", "type", "the message must be a JSON object")])
    try:
        envelope = Envelope.model_validate(data)
    except ValidationError as exc:
        return Rejection.of("envelope", field_errors(exc.errors(include_url=False, include_input=False), "envelope"))
    if signer is not None and envelope.source != signer:
        return Rejection.of("auth", [FieldError("envelope.source", "signerIsSource",
                                                f"source {envelope.source!r} is not the signer {signer!r}")], envelope)
    if signed_payload is not None and not _carries(envelope, signed_payload):
        return Rejection.of("auth", [FieldError("envelope.payload", "signedPayload",
                                                "the payload is not the one its source signed")], envelope)
    return check(envelope, schemas, directory, now)


def _carries(envelope: Envelope, signed_payload: bytes) -> bool:
    try:
        return orjson.loads(signed_payload) == envelope.payload
    except orjson.JSONDecodeError:
        return False


def check(envelope: Envelope, schemas: SchemaRegistry, directory: Directory,
          now: float | None = None) -> Delivery | Rejection:
    """Schema and routing stages for an envelope that decoded."""
    try:
        errors = schemas.validate(envelope.type, envelope.version, envelope.payload)
    except UnknownType as exc:
        return Rejection.of("schema", [FieldError("envelope.type", "knownType", str(exc))], envelope)
    except UnknownVersion as exc:
        return Rejection.of("schema", [FieldError("envelope.version", "knownVersion", str(exc))], envelope)
    if errors:
        return Rejection.of("schema", errors, envelope)
    return resolve(envelope, directory, now)


def resolve(envelope: Envelope, directory: Directory, now: float | None = None) -> Delivery | Rejection:
    """Destinations: the explicit target, else every subscriber of the type except the sender."""
    def refuse(field: str, rule: str, message: str) -> Rejection:
        return Rejection.of("routing", [FieldError(field, rule, message)], envelope)

    source = directory.connectors.get(envelope.source)
    if source is None:
        return refuse("envelope.source", "registeredSource", f"source {envelope.source!r} is not a registered connector")
    if envelope.type not in source.produces:
        return refuse("envelope.type", "mayPublish", f"source {envelope.source!r} is not registered to publish {envelope.type}")
    if envelope.target is not None:
        target = directory.connectors.get(envelope.target)
        if target is None:
            return refuse("envelope.target", "knownTarget", f"target {envelope.target!r} is not a registered connector")
        if envelope.type not in target.consumes:
            return refuse("envelope.target", "mayReceive", f"target {envelope.target!r} does not receive {envelope.type}")
        targets: tuple[str, ...] = (envelope.target,)
    else:
        targets = directory.fanout(envelope.type, envelope.source)
        if not targets:
            return refuse("envelope.type", "hasSubscriber",
                          f"no connector subscribes to {envelope.type} and no target is set")
    if not directory.agreements.governing:  # the common case: grants alone
        return Delivery(envelope, targets)
    return _under_agreements(envelope, targets, directory, time.time() if now is None else now)


def _under_agreements(envelope: Envelope, targets: tuple[str, ...], directory: Directory,
                      now: float) -> Delivery | Rejection:
    """Each target as its agreement says: projected, withheld, or (none governing it) as the grant says."""
    kept, terms, withheld = [], [], []
    for target in targets:
        found = directory.agreements.terms(envelope.source, target, envelope.type, now)
        if isinstance(found, Withheld):
            withheld.append(found)
        else:
            kept.append(target)
            terms.append(found)
    if not kept:
        field = "envelope.target" if envelope.target is not None else "envelope.type"
        return Rejection.of("routing", [FieldError(field, "agreement", w.reason) for w in withheld], envelope,
                            tuple(withheld))
    if not withheld and not any(terms):
        return Delivery(envelope, targets)  # unprojected: unchanged, byte for byte
    return Delivery(envelope, tuple(kept), tuple(terms), tuple(withheld))
