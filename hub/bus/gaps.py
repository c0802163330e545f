"""Skipped offsets, noticed and read again before anything later is handled.

tansu can answer a fetch with batches stored after one still being written, and the consumer's position then
moves past the missing one (DESIGN §4). Every consumer of the hub passes its fetches through a `GapGuard`:
records are handed on only while their offsets follow on; at a gap the partition is read again from the
expected offset, up to `retries` times; a record read twice is handed on once. Kafka's transaction markers and compacted topics make real gaps, so a
gap still there after the retries is accepted, counted and reported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition

from hub.bus import metrics

log = logging.getLogger(__name__)
Batches = dict[TopicPartition, list[ConsumerRecord]]


class GapGuard:
    def __init__(self, reader: str, seek: Callable[[TopicPartition, int], None], retries: int = 5,
                 transactional: bool = False) -> None:
        self.reader = reader  # names the consumer in warnings and in the metric's label
        # A topic written in transactions skips an offset at every commit marker: gaps are the rule there, and
        # tansu, whose fetches make the unwanted ones, has no transactions. The guard then stands aside.
        self._standing_aside = transactional
        self._seek = seek
        self._retries = retries
        self._next: dict[TopicPartition, int] = {}  # the offset the next record of each partition should have
        self._tries: dict[TopicPartition, int] = {}
        self._unanchored: set[TopicPartition] = set()  # assigned by a rebalance, committed offset not read yet
        self.recovered = 0  # gaps that a second read filled
        self.accepted = 0  # offsets accepted as missing after the retries

    def forget(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        """After a rebalance or a seek of the caller's own: reading resumes wherever the consumer is."""
        if partitions is None:
            self._next.clear()
        else:
            for tp in partitions:
                self._next.pop(tp, None)

    def expect(self, tp: TopicPartition, offset: int) -> None:
        """The next record of `tp` should have `offset` (the committed position, say)."""
        self._next[tp] = offset

    def reassigned(self, partitions: Iterable[TopicPartition]) -> None:
        """A rebalance assigned these: reading resumes at the group's committed offsets (see anchor())."""
        self.forget(partitions)
        self._unanchored.update(partitions)

    async def anchor(self, consumer: AIOKafkaConsumer) -> None:
        """Expect the committed offset of each partition a rebalance assigned, so that a gap at the very first
        record is noticed too. Called from the reading loop, after the rebalance, not from its callback."""
        while self._unanchored and not self._standing_aside:
            tp = self._unanchored.pop()
            committed = await consumer.committed(tp)
            if committed is not None and tp not in self._next:
                self.expect(tp, committed)

    def check(self, batches: Batches) -> Batches:
        """The records that follow on; at a gap, the partition is sought back and read again."""
        if self._standing_aside:
            return batches
        passed: Batches = {}
        for tp, records in batches.items():
            held = self._follow_on(tp, records)
            if held:
                passed[tp] = held
                self._next[tp] = held[-1].offset + 1
        return passed

    def _follow_on(self, tp: TopicPartition, records: list[ConsumerRecord]) -> list[ConsumerRecord]:
        expected = self._next.get(tp, records[0].offset)
        held = []
        for record in records:
            if record.offset < expected:
                continue  # read twice (a broker may send a batch again): handed on once
            if record.offset > expected:
                tries = self._tries.get(tp, 0)
                if tries < self._retries:
                    if not tries:
                        log.warning("%s: %s-%d skips offsets %d to %d: reading again from %d", self.reader, tp.topic,
                                    tp.partition, expected, record.offset - 1, expected)
                    self._tries[tp] = tries + 1
                    self._seek(tp, expected)
                    return held
                self._accept(tp, expected, record.offset)
            held.append(record)
            expected = record.offset + 1
        if self._tries.pop(tp, 0):
            self.recovered += 1
            metrics.OFFSET_GAPS.labels(self.reader, "recovered").inc()
        return held

    def _accept(self, tp: TopicPartition, expected: int, found: int) -> None:
        missing = found - expected
        self._tries.pop(tp, None)
        self.accepted += missing
        metrics.OFFSET_GAPS.labels(self.reader, "accepted").inc(missing)
        log.warning("%s: %s-%d skips offsets %d to %d, still missing after %d reads (a transaction marker, "
                    "a compacted or retention-deleted record, or one lost by the broker)", self.reader, tp.topic, tp.partition,
                    expected, found - 1, self._retries + 1)


class Reassigned(ConsumerRebalanceListener):
    """For a consumer group member: newly assigned partitions resume at the committed offsets."""

    def __init__(self, guard: GapGuard) -> None:
        self._guard = guard

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        pass

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self._guard.reassigned(assigned)
