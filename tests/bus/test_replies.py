"""Which replies a waiting call takes (pure logic of hub.bus.replies; the whole path runs in
tests/control/test_service_calls.py on both brokers)."""

from __future__ import annotations

import orjson
from aiokafka import ConsumerRecord

from hub.bus.replies import Expected, ReplyBox
from hub.bus.topics import BrokerLink, Topics

CALL = "0190f0a0-0000-7000-8000-000000000001"


def reply(source: str = "csdl-dan-cu", type: str = "citizen.verify.reply", target: str = "mot-cua",
          correlation_id: str = CALL) -> ConsumerRecord:
    value = orjson.dumps({"correlation_id": correlation_id, "source": source, "type": type, "target": target})
    return ConsumerRecord("lgsp.replies", 0, 0, 0, 0, None, value, None, 0, len(value), ())


def box(late: list) -> ReplyBox:
    return ReplyBox(BrokerLink("127.0.0.1:9", Topics()), None, lambda record, at: late.append(record), 0)


async def test_a_call_takes_only_its_providers_reply_and_a_late_one_goes_to_on_late():
    late: list = []
    replies = box(late)
    waiting = replies.expect(CALL, Expected("csdl-dan-cu", "citizen.verify.reply", "mot-cua"))
    for stranger in (reply(source="ndxp"), reply(type="ndxp.receipt"), reply(target="other"),
                     reply(correlation_id="0190f0a0-0000-7000-8000-000000000002")):
        replies._take(stranger)
    assert not waiting.done() and late == []
    answer = reply()
    replies._take(answer)
    assert waiting.result() is answer
    replies._take(reply())  # a second copy (an at-least-once re-delivery): nobody waits, nor did it time out
    assert late == []


async def test_a_reply_after_its_call_gave_up_is_late_and_reaches_no_later_call():
    late: list = []
    replies = box(late)
    replies.expect(CALL, Expected("csdl-dan-cu", "citizen.verify.reply", "mot-cua"))
    replies.give_up(CALL)
    other = replies.expect("0190f0a0-0000-7000-8000-000000000003", Expected("csdl-dan-cu", "citizen.verify.reply",
                                                                             "mot-cua"))
    tardy = reply()
    replies._take(tardy)
    assert late == [tardy] and not other.done()
