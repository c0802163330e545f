"""route.py's (c): hub.core.routing.route() in a loop on one core, its split by stage, signature checks, and
jsonschema-rs vs fastjsonschema on the payload schema with the custom `x-*` keywords stripped; with
`--projection both`, a delivery under a data-sharing agreement, by part. No broker."""

from __future__ import annotations

import hashlib
import time
from functools import partial
from typing import Any, Callable

import fastjsonschema
import jsonschema_rs
import orjson
from dossiers import AGREEMENT, CONNECTORS, SENDER, Message
from meters import rate
from nacl.signing import SigningKey

from hub.core.agreements import Agreements, projected
from hub.core.credentials import CREDENTIAL_HEADER, SIGNATURE_HEADER, SIGNED_AT_HEADER, Keyring, issue
from hub.core.directory import ConnectorSpec, Directory
from hub.core.envelope import Envelope
from hub.core.hub_signature import HubKey, projection_base
from hub.core.routing import Delivery, resolve, route
from hub.core.schemas.registry import SchemaRegistry, bundled_schemas_dir
from hub.settings import Settings

ALGORITHMS = ("hmac-sha256", "ed25519")  # the signatures measured, here and in route.py's (b)
CUSTOM_KEYWORDS = ("x-personal-id", "x-birth-year-matches")  # hub/schema_rules.py; fastjsonschema can't run them


def loop_rate(fn: Callable[[Any], Any], items: list, repeat: int = 3,
              clock: Callable[[], float] = time.perf_counter) -> dict[str, float]:
    """Best of `repeat` passes of fn over items."""
    best = float("inf")
    for _ in range(repeat):
        start = clock()
        for item in items:
            fn(item)
        best = min(best, clock() - start)
    return rate(len(items), best)


def signed_route_rate(algorithm: str, raws: list[bytes], schemas: SchemaRegistry, directory: Directory,
                      max_bytes: int) -> dict[str, float]:
    """route() with the signature check, on messages signed by a credential of `algorithm`."""
    credential, row = issue(SENDER, algorithm)
    keyring, now = Keyring([row]), time.time()
    seals = []
    for raw in raws:
        headers = dict(credential.headers(raw))
        seals.append((raw, (headers[CREDENTIAL_HEADER], headers[SIGNATURE_HEADER], headers[SIGNED_AT_HEADER])))
    assert all(isinstance(route(raw, schemas, directory, max_bytes, keyring, seal, now), Delivery)
               for raw, seal in seals[:100])
    return loop_rate(lambda item: route(item[0], schemas, directory, max_bytes, keyring, item[1], now), seals)


def verify_rate(algorithm: str, raws: list[bytes]) -> dict[str, float]:
    """The signature check alone (Keyring.signer), one core: the ceiling of signed routing is cores ÷ its cost."""
    credential, row = issue(SENDER, algorithm)
    keyring, now = Keyring([row]), time.time()
    seals = []
    for raw in raws:
        headers = dict(credential.headers(raw))
        seals.append((headers[CREDENTIAL_HEADER], headers[SIGNATURE_HEADER], headers[SIGNED_AT_HEADER], raw))
    assert all(keyring.signer(*seal, now) == SENDER for seal in seals[:100])
    return loop_rate(lambda seal: keyring.signer(*seal, now), seals)


def strip_custom_keywords(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: strip_custom_keywords(v) for k, v in node.items() if k not in CUSTOM_KEYWORDS}
    if isinstance(node, list):
        return [strip_custom_keywords(v) for v in node]
    return node


def validation(messages: list[Message]) -> dict:
    schemas = SchemaRegistry.from_dirs(bundled_schemas_dir())
    directory = Directory.of(ConnectorSpec.model_validate(spec) for spec in CONNECTORS)
    max_bytes = Settings().max_message_bytes
    raws = [value for _, value, _ in messages]
    assert all(isinstance(route(raw, schemas, directory, max_bytes), Delivery) for raw in raws[:100])
    envelopes = [Envelope.model_validate(orjson.loads(raw)) for raw in raws]
    payloads = [e.payload for e in envelopes]

    stripped = strip_custom_keywords(schemas.schema("dossier.submitted", 1))
    rs = jsonschema_rs.validator_for(stripped, validate_formats=True)
    fast = fastjsonschema.compile(stripped)
    assert all(rs.is_valid(p) for p in payloads[:100]) and all(fast(p) for p in payloads[:100])
    return {
        "route": loop_rate(lambda raw: route(raw, schemas, directory, max_bytes), raws),
        **{f"route+{algorithm}": signed_route_rate(algorithm, raws[:20_000], schemas, directory, max_bytes)
           for algorithm in ALGORITHMS},
        **{f"verify {algorithm}": verify_rate(algorithm, raws[:20_000]) for algorithm in ALGORITHMS},
        "split": {
            "decode+envelope": loop_rate(lambda raw: Envelope.model_validate(orjson.loads(raw)), raws),
            "schemas.validate": loop_rate(lambda e: schemas.validate(e.type, e.version, e.payload), envelopes),
            "resolve": loop_rate(lambda e: resolve(e, directory), envelopes),
        },
        "payload_schema_without_custom_keywords": {
            "jsonschema_rs": loop_rate(rs.is_valid, payloads),
            "fastjsonschema": loop_rate(fast, payloads),
        },
    }


def projection(messages: list[Message]) -> dict:
    """What the router adds per delivery under AGREEMENT, on one core: resolve() finding the agreement,
    projected() (the bytes as sent parsed, the payload cut, orjson) and HubKey.headers() (SHA-256 of the original,
    Ed25519 signature), each whole and by part. In CPU time, not wall time: on a shared machine, parts timed
    at different moments stay comparable."""
    specs = [ConnectorSpec.model_validate(spec) for spec in CONNECTORS]
    grants, agreed = Directory.of(specs), Directory.of(specs, Agreements.of([AGREEMENT]))
    cut, signing = agreed.agreements.projection(AGREEMENT), SigningKey.generate()
    key, agreement = HubKey(bytes(signing)), AGREEMENT.id.encode()
    raws = [value for _, value, _ in messages[:20_000]]
    envelopes = [Envelope.model_validate(orjson.loads(raw)) for raw in raws]
    values = [projected(raw, cut) for raw in raws]
    dumps = [{**orjson.loads(raw), "payload": cut(e.payload)} for raw, e in zip(raws, envelopes, strict=True)]
    bases = [projection_base(value, agreement, hashlib.sha256(raw).hexdigest().encode(), b"1764633600")
             for raw, value in zip(raws, values, strict=True)]
    assert resolve(envelopes[0], agreed).terms == (AGREEMENT,)
    cpu_rate = partial(loop_rate, clock=time.process_time)
    return {
        "bytes": {"original": len(raws[0]), "projected": len(values[0])},
        "projected+headers": cpu_rate(lambda raw: key.headers(projected(raw, cut), AGREEMENT.id, raw), raws),
        "projected": cpu_rate(lambda raw: projected(raw, cut), raws),
        "hub_key.headers": cpu_rate(lambda p: key.headers(p[0], AGREEMENT.id, p[1]), list(zip(values, raws))),
        "split": {
            "resolve, grants alone": cpu_rate(lambda e: resolve(e, grants), envelopes),
            "resolve, under the agreement": cpu_rate(lambda e: resolve(e, agreed), envelopes),
            "orjson.loads": cpu_rate(orjson.loads, raws),
            "payload cut": cpu_rate(lambda e: cut(e.payload), envelopes),
            "orjson.dumps": cpu_rate(orjson.dumps, dumps),
            "sha256 of the original": cpu_rate(lambda raw: hashlib.sha256(raw).hexdigest(), raws),
            "ed25519 sign": cpu_rate(signing.sign, bases),
        },
    }
