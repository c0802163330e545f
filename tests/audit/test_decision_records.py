"""The decision record: what the router publishes of an outcome is what the log indexer reads back."""

from __future__ import annotations

import orjson

from hub.audit.decisions import MESSAGE_HEADER, ROUTER_HEADER, Decision, decode, encode, record
from hub.core.directory import Directory
from hub.core.envelope import encode as encode_envelope
from hub.core.routing import route
from hub.core.schemas.registry import SchemaRegistry, bundled_schemas_dir
from hub.testing.samples import dossier_submitted


def test_a_refusal_reads_back_with_its_stage_field_rule_and_origin():
    raw = encode_envelope(dossier_submitted())
    outcome = route(raw, SchemaRegistry.from_dirs(bundled_schemas_dir()), Directory(), 1_000_000)  # no one registered
    key, value, headers = record(raw, outcome, 1_700_000_000.5, "lgsp.ingress/2/41", b"host-7")
    d = decode(value, headers)
    envelope = outcome.envelope
    assert key == str(envelope.id).encode() and d.message_id == str(envelope.id)
    assert (d.outcome, d.stage, d.field, d.rule) == ("rejected", "routing", *(
        (outcome.errors[0].field, outcome.errors[0].rule)))
    assert (d.type, d.version, d.source, d.key, d.targets) == (envelope.type, 1, envelope.source, envelope.key, ())
    assert (d.origin, d.routed_at, d.raw, d.payload_sha256) == ("lgsp.ingress/2/41", 1_700_000_000.5, raw, None)
    assert dict(headers) == {ROUTER_HEADER: b"host-7", MESSAGE_HEADER: raw}
    assert orjson.loads(value)["message_id"] == str(envelope.id)  # readable on the topic as it is


def test_undecodable_bytes_are_keyed_by_their_origin_and_a_decision_round_trips():
    outcome = route(b"\xff not json", SchemaRegistry.from_dirs(bundled_schemas_dir()), Directory(), 1_000_000)
    key, value, headers = record(b"\xff not json", outcome, 1.0, "lgsp.ingress/0/7")
    d = decode(value, headers)
    assert key == b"lgsp.ingress/0/7" and d.message_id is None and (d.stage, d.rule) == ("decode", "json")
    again = Decision("m-1", "dossier.submitted", 1, "mot-cua", ("ndxp", "bao-cao"), "delivered", None, None, "c-1",
                     "K", None, 2.0, origin="lgsp.ingress/1/1", raw=b"{}")
    assert decode(*encode(again)[1:]) == again


def test_the_ingress_timestamp_travels_and_a_record_without_it_still_reads():
    raw = encode_envelope(dossier_submitted())
    outcome = route(raw, SchemaRegistry.from_dirs(bundled_schemas_dir()), Directory(), 1_000_000)
    _, value, headers = record(raw, outcome, 1_700_000_000.5, "lgsp.ingress/2/41", b"w", 1_700_000_000.25)
    assert decode(value, headers).received_at == 1_700_000_000.25
    older = orjson.loads(value)
    del older["received_at"]  # as written before the field was carried
    d = decode(orjson.dumps(older), headers)
    assert d.received_at is None and d.routed_at == 1_700_000_000.5 and d.origin == "lgsp.ingress/2/41"
    edge = record(raw, outcome, 1.0)  # the HTTP edge: no ingress record
    assert decode(*edge[1:]).received_at is None
