from datetime import datetime, timezone

import orjson
import pytest
from pydantic import ValidationError

from hub.core.envelope import Envelope, decode, encode
from hub.core.ids import uuid7
from hub.testing.samples import dossier_submitted


def test_round_trip_keeps_every_field():
    envelope = dossier_submitted(target="ndxp")
    assert decode(encode(envelope)) == envelope


def test_new_ids_are_uuid7_and_time_ordered():
    ids = [uuid7() for _ in range(50)]
    assert {u.version for u in ids} == {7}
    assert [u.int >> 80 for u in ids] == sorted(u.int >> 80 for u in ids)
    assert len(set(ids)) == 50


def test_reply_goes_back_to_the_sender_with_the_correlation():
    request = Envelope.new("citizen.verify.request", 1, "mot-cua", {"x": 1}, target="csdl-dan-cu", key="k")
    reply = request.reply("citizen.verify.reply", 1, "csdl-dan-cu", {"y": 2})
    assert (reply.target, reply.correlation_id, reply.key) == ("mot-cua", request.id, "k")


def _raw(**changes):
    data = orjson.loads(encode(dossier_submitted()))
    data.update(changes)
    return orjson.dumps({k: v for k, v in data.items() if v is not None})


@pytest.mark.parametrize(("changes", "field", "rule"), [
    ({"version": 0}, "version", "greater_than_equal"),
    ({"type": "Dossier Submitted"}, "type", "string_pattern_mismatch"),
    ({"source": "Mot Cua!"}, "source", "string_pattern_mismatch"),
    ({"occurred_at": "2023-11-15T08:30:00"}, "occurred_at", "timezone_aware"),
    ({"id": "not-a-uuid"}, "id", "uuid_parsing"),
    ({"payload": None}, "payload", "missing"),
    ({"extra": 1}, "extra", "extra_forbidden"),
])
def test_strict_envelope_names_field_and_rule(changes, field, rule):
    with pytest.raises(ValidationError) as caught:
        decode(_raw(**changes))
    errors = caught.value.errors()
    assert (errors[0]["loc"][0], errors[0]["type"]) == (field, rule)


def test_occurred_at_is_timezone_aware():
    assert dossier_submitted().occurred_at.tzinfo is not None
    assert dossier_submitted(occurred_at=datetime(2023, 1, 1, tzinfo=timezone.utc)).occurred_at.year == 2023
