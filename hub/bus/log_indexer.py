"""The log indexer: builds the message log in the store from `<prefix>.decisions`.

A consumer group (several hub processes share the partitions): each partition is one hash chain,
`<topic>/<partition>`, written by its one owner of the moment. A batch's records and the partition's next
offset are stored in one transaction, and on (re)assignment reading resumes at that stored offset, not at
the group's: a restart writes nothing twice and loses nothing. A decision the router published twice (tansu
is at-least-once) has an origin already stored and is skipped. When the store is away the position simply
does not move: the partition is read again from it, a little later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError

from hub.audit import message_log
from hub.audit.decisions import Decision, decode
from hub.audit.message_log import ChainHead, MessageLog
from hub.bus import metrics
from hub.bus.gaps import GapGuard
from hub.bus.topics import RECORD_BYTES_MAX, BrokerLink
from hub.settings import Settings
from hub.store import PositionMoved, Store
from hub.store.attachments import open_attachments

log = logging.getLogger(__name__)
POLL_MS = 200  # how long a fetch waits for decisions: also how soon stop() is noticed
RETRY_SECONDS = 1.0  # after a failed write, before the partition is read again from its stored position
STOP_SECONDS = 5.0  # what closing the consumer may take when the broker is gone
FIRST_PRUNE_SECONDS = 60.0  # a starting hub has a backlog to index first


def chain_name(tp: TopicPartition) -> str:
    return f"{tp.topic}/{tp.partition}"


def _decoded(records: list[ConsumerRecord]) -> list[Decision]:
    """The batch's decisions; a record that is none (only the hub writes the topic) is named and passed over,
    rather than holding up the log for good."""
    decisions = []
    for record in records:
        try:
            decisions.append(decode(record.value, record.headers))
        except Exception:
            log.exception("log indexer: %s-%d at offset %d is not a decision record; passed over", record.topic,
                          record.partition, record.offset)
    return decisions


class _Positions(ConsumerRebalanceListener):
    def __init__(self, indexer: LogIndexer) -> None:
        self._indexer = indexer

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._indexer.release(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        for tp in assigned:
            await self._indexer.resume(tp)


class LogIndexer:
    def __init__(self, link: BrokerLink, store: Store, settings: Settings, prune_seconds: float = 3600.0,
                 retry_seconds: float = RETRY_SECONDS) -> None:
        self._link, self.topic = link, link.topics.decisions
        self.log = MessageLog(store, settings.log_payload, settings.log_retention_days,
                              open_attachments(store.engine, settings.attachments_dir))
        self._prune_seconds, self._retry_seconds = prune_seconds, retry_seconds
        self._chains: dict[TopicPartition, ChainHead] = {}  # the owned partitions' chains, as stored
        self._writing = asyncio.Lock()  # a rebalance waits for the write in hand
        self._stopping = asyncio.Event()
        self.running = False
        self.indexed = 0  # decision records this indexer stored (or found stored already)
        self.lag: int | None = None  # decisions on its partitions not stored yet (None: not known yet)

    async def start(self) -> None:
        await self.log.start()
        self._consumer = AIOKafkaConsumer(
            **self._link.client, group_id=self._link.topics.log_indexer_group,
            enable_auto_commit=False, auto_offset_reset="earliest", isolation_level=self._link.isolation_level,
            fetch_max_wait_ms=100, max_partition_fetch_bytes=RECORD_BYTES_MAX,
            session_timeout_ms=10_000, heartbeat_interval_ms=1_000)
        self._gaps = GapGuard("log-indexer", self._consumer.seek, transactional=self._link.transactions)
        self._consumer.subscribe([self.topic], listener=_Positions(self))
        await self._consumer.start()
        self.running = True

    async def run(self) -> None:
        """Index until stop(); a write in hand is finished first."""
        next_prune = time.monotonic() + min(FIRST_PRUNE_SECONDS, self._prune_seconds)
        try:
            while not self._stopping.is_set():
                batches = await self._consumer.getmany(timeout_ms=POLL_MS, max_records=message_log.CHUNK)
                for tp, records in self._gaps.check(batches).items():
                    await self._index(tp, records)
                await self._measure_lag()
                if self.log.retention_days and time.monotonic() >= next_prune:
                    next_prune = time.monotonic() + self._prune_seconds
                    await self.log.prune()
        finally:
            await self._close()

    async def stop(self) -> None:
        self._stopping.set()

    @property
    def partitions(self) -> set[TopicPartition]:
        """The decisions partitions this indexer owns now."""
        return set(self._consumer.assignment()) if self.running else set()

    async def _index(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        async with self._writing:
            head = self._chains.get(tp)
            if head is None:  # its position could not be read at assignment
                return await self.resume(tp)
            records = [r for r in records if r.offset >= (head.next_offset or 0)]  # a batch read twice
            if not records:
                return
            decisions = _decoded(records)
            try:
                head = await self.log.write(head, decisions, records[-1].offset + 1)
            except PositionMoved:
                log.warning("log indexer: %s was written by another indexer; reading on from its position", tp)
                return await self.resume(tp)
            except Exception:
                log.exception("log indexer: storing %d decisions of %s failed; will retry", len(records), tp)
                return await self._retry(tp, records[0].offset)
            self.indexed += len(records)
            if tp in self._consumer.assignment():
                self._chains[tp] = head
        await self._commit(tp, head.next_offset)

    async def _retry(self, tp: TopicPartition, offset: int) -> None:
        """Read the partition again from `offset` after a pause (stop() cuts it short)."""
        with contextlib.suppress(IllegalStateError):  # taken away meanwhile: its new owner reads it
            self._seek(tp, offset)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), self._retry_seconds)

    async def resume(self, tp: TopicPartition) -> None:
        """Load the partition's chain from the store and read on from its stored position."""
        try:
            head = await self.log.head(chain_name(tp))
        except Exception:
            self._chains.pop(tp, None)  # the next batch of it tries again
            log.exception("log indexer: reading the position of %s failed; will retry", tp)
            await asyncio.sleep(self._retry_seconds)
            return
        self._chains[tp] = head
        with contextlib.suppress(IllegalStateError):  # taken away meanwhile: its new owner reads it
            if head.next_offset is None:
                await self._consumer.seek_to_beginning(tp)
                self._gaps.forget([tp])
            else:
                self._seek(tp, head.next_offset)

    def _seek(self, tp: TopicPartition, offset: int) -> None:
        """Raises IllegalStateError if the partition was taken away."""
        self._consumer.seek(tp, offset)
        self._gaps.expect(tp, offset)

    async def release(self, revoked: list[TopicPartition]) -> None:
        """Partitions going to another indexer: the write in hand finishes first; their chains are its now."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._writing.acquire(), STOP_SECONDS)
            self._writing.release()
        for tp in revoked:
            self._chains.pop(tp, None)

    async def _commit(self, tp: TopicPartition, next_offset: int) -> None:
        """The group's offset too, for tools that show consumer lag; the store's position is what counts."""
        with contextlib.suppress(KafkaError):
            await self._consumer.commit({tp: next_offset})

    async def _measure_lag(self) -> None:
        """Between batches, everything read is stored: what is left is the partitions' ends past the reading
        position (past transaction markers, that the stored position may not count yet)."""
        total = 0
        for tp in self._consumer.assignment():
            end = (self._consumer.last_stable_offset(tp) if self._link.transactions
                   else self._consumer.highwater(tp))
            head = self._chains.get(tp)
            if end is None or head is None:
                return
            try:  # known at once, unless a seek is still being resolved
                read = await asyncio.wait_for(self._consumer.position(tp), POLL_MS / 1000)
            except (IllegalStateError, TimeoutError):  # taken away, or not known yet: next time
                return
            total += max(end - max(head.next_offset or 0, read), 0)
        self.lag = total
        metrics.LOG_INDEXER_LAG.set(total)

    async def _close(self) -> None:
        self.running = False
        with contextlib.suppress(TimeoutError, KafkaError):
            await asyncio.wait_for(self._consumer.stop(), STOP_SECONDS)
