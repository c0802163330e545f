"""What the view counts of decision records: routed, rejected, route latency, each source last heard, deliveries
withheld for want of a data-sharing agreement, and the messages of the types observed handed on."""

from __future__ import annotations

from types import SimpleNamespace

import orjson

from hub.audit.decisions import record
from hub.bus.topics import BrokerLink, Topics
from hub.core.agreements import Withheld
from hub.core.directory import Directory
from hub.core.envelope import Envelope, encode
from hub.core.rejection import FieldError, Rejection
from hub.core.routing import Delivery, route
from hub.core.schemas.registry import SchemaRegistry, bundled_schemas_dir
from hub.operator.routing_watch import RoutingWatch
from hub.testing.samples import dossier_submitted
from tests.support.documents import sent

SCHEMAS = SchemaRegistry.from_dirs(bundled_schemas_dir())


def delivered(received_at: float, routed_at: float) -> SimpleNamespace:
    raw = encode(dossier_submitted())
    refused = route(raw, SCHEMAS, Directory(), 1_000_000)  # a real envelope, taken as delivered
    outcome = Delivery(refused.envelope, ("ndxp",))
    _, value, headers = record(raw, outcome, routed_at, "lgsp.ingress/0/1", b"w", received_at)
    return SimpleNamespace(value=value, headers=headers)


def refused() -> SimpleNamespace:
    _, value, headers = record(b"\xff", route(b"\xff", SCHEMAS, Directory(), 1_000_000), 5.0, "lgsp.ingress/0/2")
    return SimpleNamespace(value=value, headers=headers)


def test_counts_latencies_and_last_seen():
    watch = RoutingWatch(BrokerLink("localhost:1", Topics()), None)
    first, second = delivered(100.0, 100.25), delivered(101.0, 101.5)
    source = orjson.loads(first.value)["source"]
    old = orjson.loads(second.value)
    del old["received_at"]  # a record from before the field: counted, no latency
    watch.count([first, refused(), second, SimpleNamespace(value=orjson.dumps(old)), SimpleNamespace(value=b"junk")])
    assert (watch.routed, watch.rejected, watch.unreadable) == (3, 1, 1)
    assert sorted(watch.take_latencies()) == [0.25, 0.5] and watch.take_latencies() == []
    assert watch.last_seen == {source: 101.5}


def withheld(*consumers: str, delivered_to: tuple[str, ...] = ()) -> SimpleNamespace:
    """A decision record of a message withheld from `consumers`: delivered to others, or refused whole."""
    raw = encode(dossier_submitted())
    envelope = route(raw, SCHEMAS, Directory(), 1_000_000).envelope
    refused = tuple(Withheld(consumer, "no agreement in force") for consumer in consumers)
    outcome = Delivery(envelope, delivered_to, (None,) * len(delivered_to), refused) if delivered_to else \
        Rejection.of("routing", [FieldError("envelope.type", "agreement", w.reason) for w in refused], envelope, refused)
    _, value, headers = record(raw, outcome, 5.0, "lgsp.ingress/0/3", b"w", 4.0)
    return SimpleNamespace(value=value, headers=headers)


def test_counts_deliveries_withheld_per_consumer_and_type():
    watch = RoutingWatch(BrokerLink("localhost:1", Topics()), None)
    watch.count([withheld("thong-ke", "bao-hiem"), withheld("thong-ke", delivered_to=("ndxp",)),
                 delivered(1.0, 2.0), refused()])
    assert watch.withheld == {("thong-ke", "dossier.submitted"): 2, ("bao-hiem", "dossier.submitted"): 1}
    assert (watch.routed, watch.rejected, watch.unreadable) == (2, 2, 0)


def document_decision(payload: dict, delivered_to: tuple[str, ...] = ("vpdt-skhdt",)) -> SimpleNamespace:
    """The decision record of a document.sent, delivered to `delivered_to` (none: refused)."""
    target = delivered_to[0] if delivered_to else None
    raw = encode(Envelope.new("document.sent", 1, "vpdt-stp", payload, target=target))
    refusal = route(raw, SCHEMAS, Directory(), 1_000_000)
    outcome = Delivery(refusal.envelope, delivered_to) if delivered_to else refusal
    _, value, headers = record(raw, outcome, 5.0, "lgsp.ingress/0/4", b"w", 4.0)
    return SimpleNamespace(value=value, headers=headers)


def test_hands_delivered_messages_of_the_observed_types_on_once():
    seen = []
    watch = RoutingWatch(BrokerLink("localhost:1", Topics()), None,
                         {"document.sent": lambda type, payload, message_id: seen.append((type, payload, message_id))})
    payload = sent("000.00.01.H22", ["000.00.02.H22"], "2023/09/04", 1)
    document = document_decision(payload)
    watch.count([document, delivered(1.0, 2.0), document_decision(payload, ()), document])  # the last: a repeat
    message_id = orjson.loads(document.value)["message_id"]
    assert seen == [("document.sent", payload, message_id)]
    assert (watch.routed, watch.rejected, watch.unreadable, watch.unobserved) == (3, 1, 0, 0)


def test_a_message_its_observer_cannot_take_is_counted_and_reading_goes_on():
    def failing(type, payload, message_id):
        raise KeyError("DocumentId")

    watch = RoutingWatch(BrokerLink("localhost:1", Topics()), None, {"document.sent": failing})
    document = document_decision(sent("000.00.01.H22", ["000.00.02.H22"], "2023/09/04", 1))
    watch.count([document, delivered(1.0, 2.0)])
    assert (watch.routed, watch.unreadable, watch.unobserved) == (2, 0, 1)
