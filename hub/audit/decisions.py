"""A routing decision, as the router publishes it on `<prefix>.decisions` and the message log stores it.

The router writes one decision record per message it routes, in the same transaction as the deliveries
(on Apache Kafka), and never waits on the store: the log indexer (hub.bus.log_indexer) builds the message
log from this topic. A record's key is the message id (else its origin), so every decision about one
message lands on one partition; its value is the decision as JSON; the message as received travels in the
`lgsp-message` header, because the log hashes it, finds whom it concerned and, in `full` mode, keeps it;
the `lgsp-router` header names the worker that decided (worker_id()). `received_at` is the ingress record's
timestamp (None at the HTTP edge, and in records written before it was carried): the operator's view takes
route latency as `routed_at - received_at` (hub.operator.routing_watch).
"""

from __future__ import annotations

import os
import socket
from typing import Any, NamedTuple

import orjson

MAX_VERSION = 2**31 - 1  # the message_log.version column is a 32-bit integer on PostgreSQL
MESSAGE_HEADER = "lgsp-message"
ROUTER_HEADER = "lgsp-router"


def worker_id() -> str:
    """The process that decided: host and process id."""
    return f"{socket.gethostname()}-{os.getpid()}"


class Decision(NamedTuple):  # a tuple: one is built for every routed message
    message_id: str | None
    type: str | None
    version: int | None
    source: str | None
    targets: tuple[str, ...]
    outcome: str  # delivered | rejected; a call over HTTP ends answered | timed_out | late (its reply);
    # an attachment's fetch is fetched | fetch_refused (hub.control.attachments)
    stage: str | None
    reason: str | None
    correlation_id: str | None
    key: str | None
    payload_sha256: str | None  # None: the log's writer hashes `raw`, off the router's path
    routed_at: float
    field: str | None = None  # a rejection's first broken rule: where, and which
    rule: str | None = None
    origin: str | None = None  # `<topic>/<partition>/<offset>` of the message routed; None at the HTTP edge
    received_at: float | None = None  # the ingress record's timestamp (unix seconds); None at the HTTP edge
    sharing: dict[str, Any] | None = None  # under data-sharing agreements: see sharing()
    raw: bytes | None = None  # the message as received (a reference, not a copy); dropped once written


_CARRIED = Decision._fields[:-1]  # what a decision record's value holds: all but the message itself


def _storable(text: str | None) -> str | None:
    """PostgreSQL text holds no NUL: the log keeps U+FFFD in its place (ordering keys, reasons quoting input)."""
    return text.replace("\x00", "\ufffd") if text and "\x00" in text else text


def sharing(outcome: Any) -> dict[str, Any] | None:
    """What agreements made of a routing outcome: per target delivered under one, its id, version and the
    fields delivered (`deliveries`); per consumer refused for want of one, why (`withheld`). None when no
    agreement governed the message (every target received it whole, as its grant says)."""
    terms = getattr(outcome, "terms", ())
    deliveries = {target: {"agreement": a.id, "version": a.version, "fields": a.fields}
                  for target, a in zip(outcome.targets, terms) if a is not None} if terms else {}
    if not deliveries and not outcome.withheld:
        return None
    return {"deliveries": deliveries, "withheld": {w.consumer: w.reason for w in outcome.withheld}}


def record(raw: bytes | None, outcome: Any, routed_at: float, origin: str | None = None, worker: bytes = b"",
           received_at: float | None = None) -> tuple[bytes | None, bytes, list[tuple[str, bytes]]]:
    """The decision record of one routing outcome (hub.core.routing.Delivery or Rejection): key, value and
    headers; `worker` is worker_id(), encoded; `received_at` the ingress record's timestamp (unix seconds).
    Built straight from the envelope, once per routed message: orjson writes the UUIDs itself."""
    envelope = outcome.envelope
    delivered = hasattr(outcome, "targets")
    broken = None if delivered or not outcome.errors else outcome.errors[0]
    value = orjson.dumps({
        "message_id": envelope.id if envelope else None, "type": envelope.type if envelope else None,
        # a version past 32 bits (only ever refused: no schema has it) does not fit PostgreSQL's integer column
        "version": envelope.version if envelope and envelope.version <= MAX_VERSION else None,
        "source": envelope.source if envelope else None, "targets": outcome.targets if delivered else (),
        "outcome": "delivered" if delivered else "rejected", "stage": None if delivered else outcome.stage,
        "reason": None if delivered else _storable(outcome.reason),
        "correlation_id": envelope.correlation_id if envelope else None,
        "key": _storable(envelope.key) if envelope else None, "payload_sha256": None, "routed_at": routed_at,
        "field": _storable(broken.field) if broken else None, "rule": _storable(broken.rule) if broken else None,
        "origin": origin, "received_at": received_at, "sharing": sharing(outcome)})
    key = str(envelope.id) if envelope else origin
    headers = [(ROUTER_HEADER, worker)] if raw is None else [(ROUTER_HEADER, worker), (MESSAGE_HEADER, raw)]
    return (key.encode() if key else None), value, headers


def encode(d: Decision, router: bytes = b"") -> tuple[bytes | None, bytes, list[tuple[str, bytes]]]:
    """A Decision as its record (what record() makes of an outcome): key, value and headers."""
    key = d.message_id or d.origin
    headers = [(ROUTER_HEADER, router)] if d.raw is None else [(ROUTER_HEADER, router), (MESSAGE_HEADER, d.raw)]
    return (key.encode() if key else None), orjson.dumps(dict(zip(_CARRIED, d))), headers


def decode(value: bytes, headers: list[tuple[str, bytes]] | tuple = ()) -> Decision:
    """A decision record's value and headers, back into the Decision the router wrote (a field an older
    record lacks takes its default)."""
    fields = orjson.loads(value)
    fields["targets"] = tuple(fields["targets"])
    raw = next((v for k, v in headers if k == MESSAGE_HEADER), None)
    return Decision(**fields, raw=raw)
