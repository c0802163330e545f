"""The router worker: a consumer group over `lgsp.ingress`.

Per batch: decide every record (hub.core.routing), produce each to its inboxes or
to the DLQ without awaiting one by one, wait until the broker acknowledged all
of them, hand the decisions to the message log, then commit the batch's
offsets once the log has stored its decisions (later batches are routed
meanwhile; the log may fall at most LOG_BEHIND_MAX decisions behind). A crash
before the commit re-delivers the batch: at-least-once, receivers drop
duplicates by id, and no routed message is missing from the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError

from hub.audit.decisions import decision
from hub.audit.message_log import MessageLog
from hub.bus import metrics
from hub.bus.admin import TopicAdmin
from hub.bus.catalog import Catalog
from hub.bus.gaps import GapGuard
from hub.bus.topics import RECORD_BYTES_MAX, BrokerLink
from hub.core.credentials import Keyring, seal
from hub.core.rejection import Rejection, dead_letter_headers
from hub.core.routing import Delivery, authenticate, decide
from hub.settings import Settings

log = logging.getLogger(__name__)
LOG_BEHIND_MAX = 50_000  # decisions the message log may hold unwritten before routing waits for it
_CORES = len(os.sched_getaffinity(0))
_THREADED_BATCH = 64  # smaller batches verify inline: a thread hand-off costs more than it frees


@dataclass
class RouterStats:
    routed: int = 0
    deliveries: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    last_batch_at: float | None = None
    last_seen: dict[str, float] = field(default_factory=dict)  # source connector → last valid message
    recent_latencies: deque[float] = field(default_factory=lambda: deque(maxlen=20_000), repr=False)


class _InboxBatches:
    """One producer batch per (inbox, partition): a future per batch instead of one per message."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer
        self._open: dict[tuple[str, int], Any] = {}

    async def add(self, topic: str, partition: int, record: ConsumerRecord, key: bytes | None) -> list[asyncio.Future]:
        sent = []
        batch = self._open.get((topic, partition))
        headers = list(record.headers)  # the signature travels on: a receiver may check it too
        if batch is not None and batch.append(key=key, value=record.value, timestamp=record.timestamp,
                                              headers=headers) is not None:
            return sent
        if batch is not None:  # full: ship it and start another
            sent.append(await self._producer.send_batch(batch, topic, partition=partition))
        batch = self._open[(topic, partition)] = self._producer.create_batch()
        if batch.append(key=key, value=record.value, timestamp=record.timestamp, headers=headers) is None:
            del self._open[(topic, partition)]  # larger than a batch: on its own
            sent.append(await self._producer.send(topic, record.value, key=key, partition=partition,
                                                  timestamp_ms=record.timestamp, headers=headers))
        return sent

    async def flush(self) -> list[asyncio.Future]:
        sent = [await self._producer.send_batch(b, t, partition=p) for (t, p), b in self._open.items()]
        self._open.clear()
        return sent


class _BeforeRevoking(ConsumerRebalanceListener):
    def __init__(self, router: Router) -> None:
        self._router = router

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._router.settle()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self._router.gaps.reassigned(assigned)  # reading resumes from the committed offsets


class Router:
    def __init__(self, link: BrokerLink, catalog: Catalog, settings: Settings,
                 message_log: MessageLog | None = None) -> None:
        self._bootstrap = link.bootstrap_servers
        self._link, self.topics = link, link.topics
        self._message_log = message_log
        self._catalog = catalog
        self._settings = settings
        self.stats = RouterStats()
        self.running = False
        self._stopping = asyncio.Event()
        self._partitions: dict[str, int] = {}  # partition count of each inbox topic
        self._unlogged: deque[tuple[int, dict[TopicPartition, int]]] = deque()  # (log mark, offsets to commit)
        self._reloaded_at = 0.0  # monotonic time of the last catalog reload forced by an unknown credential
        self._admin = TopicAdmin(link.bootstrap_servers, settings)

    async def start(self) -> None:
        # Routing allocates many short-lived objects per message: collect less often, and never scan
        # the long-lived start-up heap again (measured with bench/route.py: about a third off route()).
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)
        await self._admin.start()
        await self._admin.ensure([self.topics.ingress, self.topics.dlq])
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap, acks="all", enable_idempotence=self._link.idempotence,
            linger_ms=2, max_batch_size=1 << 20, max_request_size=RECORD_BYTES_MAX,
        )
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap, group_id=self.topics.router_group,
            enable_auto_commit=False, auto_offset_reset="earliest",
            fetch_max_wait_ms=50, max_partition_fetch_bytes=8 << 20,
            session_timeout_ms=10_000, heartbeat_interval_ms=1_000,
        )
        self._consumer.subscribe([self.topics.ingress], listener=_BeforeRevoking(self))
        self.gaps = GapGuard("router", self._consumer.seek)
        await self._producer.start()
        await self._consumer.start()
        self.running = True

    async def run(self) -> None:
        """Route until stop(); the batch in hand is finished and committed first."""
        try:
            while not self._stopping.is_set():
                batches = await self._consumer.getmany(timeout_ms=200, max_records=self._settings.router_batch_max)
                await self.gaps.anchor(self._consumer)
                records = [record for part in self.gaps.check(batches).values() for record in part]
                if records:
                    await self._route_batch(records)
                await self._commit_logged()
        finally:
            if self._message_log is not None:
                with contextlib.suppress(Exception):  # the store may be away: the batches are then re-delivered
                    await self._message_log.flush()
                    await self._commit_logged()
            await self._close()

    async def stop(self) -> None:
        self._stopping.set()

    async def _route_batch(self, records: list[ConsumerRecord]) -> None:
        catalog, now = self._catalog, time.time()
        signers = await self._authenticate(records, catalog.keyring, now)
        if self._unknown_credential(signers):  # issued a moment ago in another process? look once more
            await asyncio.to_thread(catalog.reload)
            self._reloaded_at = time.monotonic()
            signers = await self._authenticate(records, catalog.keyring, now)
        schemas, directory = catalog.schemas, catalog.directory
        outcomes = [(record, signer if isinstance(signer, Rejection) else
                     decide(record.value or b"", schemas, directory, signer))
                    for record, signer in zip(records, signers, strict=True)]
        inboxes = {self.topics.inbox(t) for _, outcome in outcomes if isinstance(outcome, Delivery) for t in outcome.targets}
        await self._admin.ensure(inboxes)
        await self._learn_partitions(inboxes)
        acks, batches = [], _InboxBatches(self._producer)
        for record, outcome in outcomes:
            if isinstance(outcome, Delivery):
                key = outcome.envelope.key.encode() if outcome.envelope.key else record.key
                for target in outcome.targets:
                    topic = self.topics.inbox(target)
                    # Keyed alike, the ingress partition number keeps per-key order and skips re-hashing.
                    if key == record.key and record.partition < self._partitions[topic]:
                        acks += await batches.add(topic, record.partition, record, key)
                    else:  # inbox records keep the ingress timestamp: receivers measure end-to-end latency
                        acks.append(await self._producer.send(topic, record.value, key=key, headers=list(record.headers),
                                                              timestamp_ms=record.timestamp))
            else:
                headers = dead_letter_headers(outcome, record.topic, record.partition, record.offset)
                acks.append(await self._producer.send(self.topics.dlq, record.value, key=record.key, headers=headers))
        acks += await batches.flush()
        await asyncio.gather(*acks)
        self._count(outcomes)
        offsets = {TopicPartition(r.topic, r.partition): r.offset + 1 for r in records}  # in offset order
        if self._message_log is None:
            return await self._commit(offsets)
        self._unlogged.append((self._message_log.record([decision(r.value, o, now) for r, o in outcomes]), offsets))
        behind = self._message_log.recorded - self._message_log.written
        if behind > LOG_BEHIND_MAX:  # back-pressure: memory stays bounded
            await self._until_logged(self._message_log.recorded - LOG_BEHIND_MAX)

    async def _until_logged(self, mark: int) -> None:
        """Wait for the message log to reach `mark`, or for stop() (the store may be away for long)."""
        waits = {asyncio.ensure_future(self._message_log.wait_written(mark)),
                 asyncio.ensure_future(self._stopping.wait())}
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()

    async def settle(self) -> None:
        """Before partitions are taken away: commit what the log stored; the rest goes to the new owner."""
        if self._message_log is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._message_log.flush(), 5)
            await self._commit_logged()
        self._unlogged.clear()

    def _unknown_credential(self, signers: list[str | None | Rejection]) -> bool:
        """A refusal for an unknown credential, and no reload of the catalog in the last second."""
        if time.monotonic() - self._reloaded_at < 1.0:
            return False
        return any(isinstance(s, Rejection) and s.stage == "auth" and s.errors[0].rule == "activeCredential"
                   for s in signers)

    async def _authenticate(self, records: list[ConsumerRecord], keyring: Keyring | None,
                            now: float) -> list[str | None | Rejection]:
        """Size and signature of every record; in threads for a large signed batch, one chunk a core."""
        max_bytes = self._settings.max_message_bytes

        def chunk(part: list[ConsumerRecord]) -> list[str | None | Rejection]:
            return [authenticate(r.value or b"", max_bytes, keyring, seal(r), now) for r in part]

        if keyring is None or len(records) < _THREADED_BATCH or not keyring.worth_threads:
            return chunk(records)
        size = -(-len(records) // _CORES)
        parts = await asyncio.gather(*(asyncio.to_thread(chunk, records[i:i + size])
                                       for i in range(0, len(records), size)))
        return [signer for part in parts for signer in part]

    async def _commit_logged(self) -> None:
        """Commit the batches whose decisions the message log has stored."""
        offsets: dict[TopicPartition, int] = {}
        while self._unlogged and self._message_log is not None and self._unlogged[0][0] <= self._message_log.written:
            offsets.update(self._unlogged.popleft()[1])
        if offsets:
            await self._commit(offsets)

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        owned = self._consumer.assignment()
        offsets = {tp: offset for tp, offset in offsets.items() if tp in owned}  # lost ones: the new owner's
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # The group rebalanced: the new owner re-delivers these; receivers de-duplicate.
            log.warning("offset commit failed after a rebalance, batches will be re-delivered: %s", exc)

    async def _learn_partitions(self, topics: set[str]) -> None:
        for topic in topics - self._partitions.keys():
            self._partitions[topic] = len(await self._producer.partitions_for(topic))

    def _count(self, outcomes: list[tuple[ConsumerRecord, Delivery | Rejection]]) -> None:
        """Counters per batch, not per message: the metrics stay off the per-record path."""
        stats, now = self.stats, time.time()
        stats.batches += 1
        stats.last_batch_at = now
        routed: Counter[tuple[str, str, str]] = Counter()
        rejected: Counter[tuple[str, str, str]] = Counter()
        latencies = []
        for record, outcome in outcomes:
            envelope = outcome.envelope
            if isinstance(outcome, Delivery):
                stats.routed += 1
                stats.last_seen[envelope.source] = now
                latencies.append(now - record.timestamp / 1000)
                for target in outcome.targets:
                    routed[(envelope.type, envelope.source, target)] += 1
            else:
                stats.rejected[outcome.stage] = stats.rejected.get(outcome.stage, 0) + 1
                labels = (envelope.type, envelope.source) if envelope else ("unknown", "unknown")
                rejected[(*labels, outcome.stage)] += 1
        stats.deliveries += sum(routed.values())
        for labels, count in routed.items():
            metrics.ROUTED.labels(*labels).inc(count)
        for labels, count in rejected.items():
            metrics.REJECTED.labels(*labels).inc(count)
        stats.recent_latencies.extend(latencies)
        for latency in latencies:
            metrics.ROUTE_LATENCY.observe(latency)

    async def _close(self) -> None:
        self.running = False
        await self._consumer.stop()
        await self._producer.stop()
        await self._admin.close()
