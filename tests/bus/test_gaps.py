"""The gap guard every consumer of the hub reads through: records follow on, a gap is read again first."""

from __future__ import annotations

import logging

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from hub.bus.gaps import GapGuard

P0, P1 = TopicPartition("t.ingress", 0), TopicPartition("t.ingress", 1)


def records(tp: TopicPartition, *offsets: int) -> list[ConsumerRecord]:
    return [ConsumerRecord(tp.topic, tp.partition, o, 0, 0, None, b"{}", None, 0, 2, ()) for o in offsets]


def offsets(batches) -> dict[int, list[int]]:
    return {tp.partition: [r.offset for r in part] for tp, part in batches.items()}


class Seeks(list):
    def __call__(self, tp: TopicPartition, offset: int) -> None:
        self.append((tp.partition, offset))


def test_offsets_that_follow_on_pass_untouched():
    seeks = Seeks()
    guard = GapGuard("test", seeks)
    assert offsets(guard.check({P0: records(P0, 10, 11, 12), P1: records(P1, 0)})) == {0: [10, 11, 12], 1: [0]}
    assert offsets(guard.check({P0: records(P0, 13, 14), P1: records(P1, 1, 2)})) == {0: [13, 14], 1: [1, 2]}
    assert seeks == [] and guard.recovered == guard.accepted == 0


def test_on_a_transactional_topic_the_guard_stands_aside(caplog):
    """Every commit marker takes an offset there, and aborted records are skipped: gaps are the rule."""
    seeks = Seeks()
    guard = GapGuard("test", seeks, transactional=True)
    guard.check({P0: records(P0, 10, 11)})
    with caplog.at_level(logging.WARNING, logger="hub.bus.gaps"):
        assert offsets(guard.check({P0: records(P0, 13, 14)})) == {0: [13, 14]}
    assert seeks == [] and guard.recovered == guard.accepted == 0 and caplog.text == ""


def test_a_gap_between_fetches_is_read_again_and_recovered(caplog):
    seeks = Seeks()
    guard = GapGuard("test", seeks)
    guard.check({P0: records(P0, 10, 11)})
    with caplog.at_level(logging.WARNING, logger="hub.bus.gaps"):
        assert guard.check({P0: records(P0, 13, 14)}) == {}  # 12 not there yet: nothing later is handed on
    assert "test: t.ingress-0 skips offsets 12 to 12: reading again from 12" in caplog.text
    assert seeks == [(0, 12)]
    assert offsets(guard.check({P0: records(P0, 12, 13, 14)})) == {0: [12, 13, 14]}  # the second read has it
    assert guard.recovered == 1 and guard.accepted == 0


def test_a_gap_inside_a_batch_hands_on_what_comes_before_it():
    seeks = Seeks()
    guard = GapGuard("test", seeks)
    guard.check({P1: records(P1, 0, 1, 2)})
    assert offsets(guard.check({P1: records(P1, 3, 5, 6)})) == {1: [3]}
    assert seeks == [(1, 4)]


def test_a_gap_still_there_after_the_retries_is_accepted_counted_and_named(caplog):
    seeks = Seeks()
    guard = GapGuard("router", seeks, retries=2)
    guard.check({P0: records(P0, 10)})
    with caplog.at_level(logging.WARNING, logger="hub.bus.gaps"):
        assert guard.check({P0: records(P0, 13)}) == {}
        assert guard.check({P0: records(P0, 13)}) == {}
        assert offsets(guard.check({P0: records(P0, 13, 14)})) == {0: [13, 14]}  # a transaction marker, say
    assert seeks == [(0, 11), (0, 11)] and guard.accepted == 2 and guard.recovered == 0
    assert "router: t.ingress-0 skips offsets 11 to 12" in caplog.text


def test_records_read_twice_are_handed_on_once():
    guard = GapGuard("test", Seeks())
    guard.check({P0: records(P0, 10, 11)})
    assert offsets(guard.check({P0: records(P0, 10, 11, 12)})) == {0: [12]}


def test_after_forget_reading_resumes_anywhere():
    seeks = Seeks()
    guard = GapGuard("test", seeks)
    guard.check({P0: records(P0, 10, 11)})
    guard.forget([P0])  # a rebalance: the partition resumes at the committed offset
    assert offsets(guard.check({P0: records(P0, 4, 5)})) == {0: [4, 5]}
    guard.forget()
    assert offsets(guard.check({P0: records(P0, 40)})) == {0: [40]}
    assert seeks == []


async def test_after_a_rebalance_the_first_record_must_have_the_committed_offset():
    class Consumer:
        async def committed(self, tp):
            return {P0: 20, P1: None}[tp]

    seeks = Seeks()
    guard = GapGuard("test", seeks)
    guard.check({P0: records(P0, 10, 11)})
    guard.reassigned([P0, P1])
    await guard.anchor(Consumer())
    assert offsets(guard.check({P0: records(P0, 22, 23), P1: records(P1, 7)})) == {1: [7]}  # P1: none committed
    assert seeks == [(0, 20)]  # 20 and 21 were skipped: read again from the committed offset
    assert offsets(guard.check({P0: records(P0, 20, 21, 22)})) == {0: [20, 21, 22]}
