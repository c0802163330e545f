"""The router worker: a consumer group over `<prefix>.ingress`.

Per batch: decide every record (hub.core.routing); then, for each ingress partition, produce its deliveries
to the inboxes, its refusals to the DLQ and one decision record per message to `<prefix>.decisions`
(hub.audit.decisions), without awaiting them one by one; a message this worker already routed from another
ingress offset is refused as a replay (hub.core.replays); then make it final as the delivery guarantee does
(hub.bus.guarantees): in one Kafka transaction with the partition's offsets (exactly-once), or acknowledged
and then committed (at-least-once), while the next batch is decided. The router never waits on the store:
the log indexer builds the message log from the decisions topic.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition

from hub.audit import decisions as decision_records
from hub.audit.decisions import worker_id
from hub.bus import metrics
from hub.bus.admin import TopicAdmin
from hub.bus.catalog import Catalog
from hub.bus.gaps import GapGuard
from hub.bus.guarantees import AtLeastOnce, ExactlyOnce
from hub.bus.topics import BrokerLink, arrived_at, reply_partition
from hub.core.agreements import projected
from hub.core.credentials import (
    CREDENTIAL_HEADER,
    SIGNATURE_HEADER,
    SIGNED_AT_HEADER,
    SIGNED_PAYLOAD_HEADER,
    Keyring,
    seal,
    signed_payload,
)
from hub.core.hub_signature import PROJECTION_HEADERS
from hub.core.rejection import FieldError, Rejection, dead_letter_headers
from hub.core.replays import ReplayWindow
from hub.core.routing import Delivery, authenticate, decide
from hub.settings import Settings

log = logging.getLogger(__name__)
_CORES = len(os.sched_getaffinity(0))
_NOT_PROJECTED = frozenset({CREDENTIAL_HEADER, SIGNATURE_HEADER, SIGNED_AT_HEADER, SIGNED_PAYLOAD_HEADER})
_THREADED_BATCH = 64  # smaller batches verify inline: a thread hand-off costs more than it frees


@dataclass
class RouterStats:
    routed: int = 0
    deliveries: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    last_batch_at: float | None = None


class _Batches:
    """One producer batch per (topic, partition): a future per batch instead of one per message."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer
        self._open: dict[tuple[str, int], Any] = {}

    async def add(self, topic: str, partition: int, key: bytes | None, value: bytes | None, timestamp: int | None,
                  headers: list) -> list[asyncio.Future]:
        sent = []
        batch = self._open.get((topic, partition))
        if batch is not None and batch.append(key=key, value=value, timestamp=timestamp, headers=headers) is not None:
            return sent
        if batch is not None:  # full: ship it and start another
            sent.append(await self._producer.send_batch(batch, topic, partition=partition))
        batch = self._open[(topic, partition)] = self._producer.create_batch()
        if batch.append(key=key, value=value, timestamp=timestamp, headers=headers) is None:
            del self._open[(topic, partition)]  # larger than a batch: on its own
            sent.append(await self._producer.send(topic, value, key=key, partition=partition, timestamp_ms=timestamp,
                                                  headers=headers))
        return sent

    async def flush(self) -> list[asyncio.Future]:
        sent = [await self._producer.send_batch(b, t, partition=p) for (t, p), b in self._open.items()]
        self._open.clear()
        return sent


class _Rebalancing(ConsumerRebalanceListener):
    def __init__(self, router: Router) -> None:
        self._router = router

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._router.settle(set(revoked))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self._router.gaps.reassigned(assigned)  # reading resumes from the committed offsets
        await self._router.output.assigned(set(assigned))


class Router:
    def __init__(self, link: BrokerLink, catalog: Catalog, settings: Settings, log_decisions: bool = True,
                 replay_window: bool = True) -> None:
        """`log_decisions` False publishes no decision records: the message log then misses this router's
        messages (benchmarks measure what the log costs with it). `replay_window` False refuses no replay
        (benchmarks measure what the window costs)."""
        self._link, self.topics = link, link.topics
        self._log_decisions = log_decisions
        self._catalog = catalog
        self._settings = settings
        self.stats = RouterStats()
        self.running = False
        self._stopping = asyncio.Event()
        self._writing: asyncio.Task | None = None  # the last batch's output, being made final
        self._partitions: dict[str, int] = {}  # partition count of each output topic
        self.worker = worker_id()
        self._admin = TopicAdmin(link, settings)
        # Over the partitions this worker reads, from its start: empty again after a restart.
        self.replays = ReplayWindow(settings.signature_max_age_seconds, settings.replay_window_max_entries) \
            if replay_window else None
        self._evicted = 0

    @property
    def delivery(self) -> str:
        return self.output.delivery

    async def start(self) -> None:
        # Routing allocates many short-lived objects per message: collect less often, and never scan
        # the long-lived start-up heap again (measured with bench/route.py: about a third off route()).
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)
        await self._admin.start()
        await self._admin.ensure([self.topics.ingress, self.topics.dlq, self.topics.decisions, self.topics.replies])
        self._consumer = AIOKafkaConsumer(
            **self._link.client, group_id=self.topics.router_group,
            enable_auto_commit=False, auto_offset_reset="earliest",
            fetch_max_wait_ms=50, max_partition_fetch_bytes=8 << 20,
            session_timeout_ms=10_000, heartbeat_interval_ms=1_000,
        )
        self.gaps = GapGuard("router", self._consumer.seek)
        self.output = (ExactlyOnce(self._link, self._consumer, lambda tp: self.gaps.forget([tp]))
                       if self._link.transactions else AtLeastOnce(self._link, self._consumer))
        self._consumer.subscribe([self.topics.ingress], listener=_Rebalancing(self))
        await self.output.start()
        await self._consumer.start()
        await self._learn_partitions({self.topics.decisions, self.topics.replies})
        self.running = True

    async def run(self) -> None:
        """Route until stop(); the batch in hand is finished first."""
        try:
            while not self._stopping.is_set():
                batches = await self._consumer.getmany(timeout_ms=200, max_records=self._settings.router_batch_max)
                await self.gaps.anchor(self._consumer)
                records = [record for part in self.gaps.check(batches).values() for record in part]
                if records:
                    await self._route_batch(records)
                await self.output.maintain()
        finally:
            try:
                await self._written()
            finally:  # a failed last batch still closes the clients: the worker's shutdown never hangs
                await self._close()

    async def stop(self) -> None:
        self._stopping.set()

    async def settle(self, revoked: set[TopicPartition]) -> None:
        """Before partitions are taken away: none begins a transaction any more, and the one in hand is made
        final (or given up) first. An at-least-once batch is not waited for: its offset commit waits for
        this very rebalance."""
        self.output.revoked(revoked)
        if self.output.finishes_before_rebalance and self._writing is not None:
            await asyncio.wait([self._writing])  # its failure is the run loop's to raise

    async def _written(self) -> None:
        writing = self._writing
        if writing is not None:  # the rebalance listener may be waiting on it too
            await writing
            if self._writing is writing:
                self._writing = None

    async def _route_batch(self, records: list[ConsumerRecord]) -> None:
        """Decide a batch while the one before is made final, then make this one final in the background
        (one at a time: a partition's transactions follow one another)."""
        outcomes = await self._decide(records)
        inboxes = {self.topics.inbox(t) for _, outcome in outcomes if isinstance(outcome, Delivery) for t in outcome.targets}
        await self._admin.ensure(inboxes)
        await self._learn_partitions(inboxes)
        await self.output.track({self.topics.dlq, self.topics.decisions, self.topics.replies, *inboxes})
        shares: dict[TopicPartition, list] = {}
        for pair in outcomes:
            shares.setdefault(TopicPartition(pair[0].topic, pair[0].partition), []).append(pair)
        await self._written()
        self._writing = asyncio.create_task(self._write(shares, outcomes), name="router-write")

    async def _write(self, shares: dict[TopicPartition, list], outcomes: list) -> None:
        await self.output.write(shares, self._produce)
        self._count(outcomes)

    async def _decide(self, records: list[ConsumerRecord]) -> list[tuple[ConsumerRecord, Delivery | Rejection]]:
        catalog, now = self._catalog, time.time()
        await catalog.fresh()  # after the batch was read: a revocation before a message was sent holds for it
        signers = await self._authenticate(records, catalog.keyring, now)
        schemas, directory = catalog.schemas, catalog.directory
        outcomes = [(record, signer if isinstance(signer, Rejection) else
                     decide(record.value or b"", schemas, directory, signer, signed_payload(record)))
                    for record, signer in zip(records, signers, strict=True)]
        if self.replays is None or catalog.keyring is None:  # unsigned messages: anyone may send them anyway
            return outcomes
        return [(record, self._screened(record, outcome, arrived_at(record, now))) for record, outcome in outcomes]

    def _screened(self, record: ConsumerRecord, outcome: Delivery | Rejection, now: float) -> Delivery | Rejection:
        """In the batch's order: a message seen twice in one batch is a replay the second time."""
        if isinstance(outcome, Rejection):
            return outcome
        _, signature, signed_at = seal(record)
        wrapped = signed_payload(record) is not None
        return self.replays.screen(outcome, signed_at, now, (record.partition, record.offset),
                                   signature if wrapped else None)

    async def _produce(self, producer: AIOKafkaProducer, outcomes: list) -> list[asyncio.Future]:
        """Send a share of a batch: deliveries, dead letters and decision records; the futures to await."""
        acks, batches, now = [], _Batches(producer), time.time()
        decisions, decision_partitions = self.topics.decisions, self._partitions[self.topics.decisions]
        worker = self.worker.encode()
        for record, outcome in outcomes:
            if isinstance(outcome, Delivery):
                acks += await self._deliver(producer, batches, record, outcome)
                if outcome.withheld:  # refused for those consumers alone: kept, like any refusal
                    headers = dead_letter_headers(_withheld(outcome), record.topic, record.partition, record.offset)
                    acks.append(await producer.send(self.topics.dlq, record.value, key=record.key, headers=headers))
            else:
                headers = dead_letter_headers(outcome, record.topic, record.partition, record.offset)
                acks.append(await producer.send(self.topics.dlq, record.value, key=record.key, headers=headers))
            if self._log_decisions:  # on the ingress partition's number: one chain follows one partition
                origin = f"{record.topic}/{record.partition}/{record.offset}"
                key, value, headers = decision_records.record(record.value, outcome, now, origin, worker,
                                                              record.timestamp / 1000)
                acks += await batches.add(decisions, record.partition % decision_partitions, key, value, None, headers)
        return acks + await batches.flush()

    async def _deliver(self, producer: AIOKafkaProducer, batches: _Batches, record: ConsumerRecord,
                       outcome: Delivery) -> list[asyncio.Future]:
        acks = []
        key = outcome.envelope.key.encode() if outcome.envelope.key else record.key
        # The signature travels on (a receiver may check it too); projection headers only the hub may write.
        plain = [header for header in record.headers if header[0] not in PROJECTION_HEADERS]
        envelope = outcome.envelope
        if envelope.correlation_id is not None and self._catalog.directory.answers(envelope.source, envelope.type) \
                and (partition := reply_partition(plain, self._partitions[self.topics.replies])) is not None:
            # A service's reply to a call made over HTTP: to the API process waiting for it, not to the inbox.
            value, headers = self._as_agreed(record, outcome, 0, plain)
            return [await producer.send(self.topics.replies, value, key=key, partition=partition,
                                        headers=headers, timestamp_ms=record.timestamp)]
        for index, target in enumerate(outcome.targets):
            topic = self.topics.inbox(target)
            value, headers = self._as_agreed(record, outcome, index, plain)
            # Keyed alike, the ingress partition number keeps per-key order and skips re-hashing. Inbox records
            # keep the ingress timestamp: receivers measure end-to-end latency.
            if key == record.key and record.partition < self._partitions[topic]:
                acks += await batches.add(topic, record.partition, key, value, record.timestamp, headers)
            else:
                acks.append(await producer.send(topic, value, key=key, headers=headers, timestamp_ms=record.timestamp))
        return acks

    def _as_agreed(self, record: ConsumerRecord, outcome: Delivery, index: int,
                   plain: list) -> tuple[bytes | None, list]:
        """What target `index` receives: the bytes as sent, or under its agreement the projection, signed by
        the hub, without the source's seal (over bytes it does not get: a test of guesses at what was withheld)
        or the payload the source signed (which would undo the projection)."""
        agreement = outcome.terms[index] if outcome.terms else None
        if agreement is None:
            return record.value, plain
        value = projected(record.value, self._catalog.directory.agreements.projection(agreement))
        headers = [header for header in plain if header[0] not in _NOT_PROJECTED]
        return value, headers + self._catalog.hub_key.headers(value, agreement.id, record.value or b"")

    async def _authenticate(self, records: list[ConsumerRecord], keyring: Keyring | None,
                            now: float) -> list[str | None | Rejection]:
        """Size and signature of every record; in threads for a large signed batch, one chunk a core."""
        max_bytes, max_age = self._settings.max_message_bytes, self._settings.signature_max_age_seconds

        def chunk(part: list[ConsumerRecord]) -> list[str | None | Rejection]:
            return [authenticate(r.value or b"", max_bytes, keyring, seal(r), arrived_at(r, now), signed_payload(r),
                                 max_age) for r in part]

        if keyring is None or len(records) < _THREADED_BATCH or not keyring.worth_threads:
            return chunk(records)
        size = -(-len(records) // _CORES)
        parts = await asyncio.gather(*(asyncio.to_thread(chunk, records[i:i + size])
                                       for i in range(0, len(records), size)))
        return [signer for part in parts for signer in part]

    async def _learn_partitions(self, topics: set[str]) -> None:
        for topic in topics - self._partitions.keys():
            self._partitions[topic] = await self._admin.partitions(topic)

    def _count(self, outcomes: list[tuple[ConsumerRecord, Delivery | Rejection]]) -> None:
        """Counters per batch, not per message: the metrics stay off the per-record path."""
        stats, now = self.stats, time.time()
        stats.batches += 1
        stats.last_batch_at = now
        routed: Counter[tuple[str, str, str]] = Counter()
        rejected: Counter[tuple[str, str, str]] = Counter()
        withheld: Counter[tuple[str, str, str]] = Counter()
        latencies = []
        for record, outcome in outcomes:
            envelope = outcome.envelope
            if isinstance(outcome, Delivery):
                stats.routed += 1
                latencies.append(now - record.timestamp / 1000)
                for target in outcome.targets:
                    routed[(envelope.type, envelope.source, target)] += 1
            else:
                stats.rejected[outcome.stage] = stats.rejected.get(outcome.stage, 0) + 1
                labels = (envelope.type, envelope.source) if envelope else ("unknown", "unknown")
                rejected[(*labels, outcome.stage)] += 1
            for refused in outcome.withheld:  # delivered to others or to no one: refused to this consumer alike
                withheld[(envelope.type, envelope.source, refused.consumer)] += 1
        stats.deliveries += sum(routed.values())
        for labels, count in routed.items():
            metrics.ROUTED.labels(*labels).inc(count)
        for labels, count in rejected.items():
            metrics.REJECTED.labels(*labels).inc(count)
        for labels, count in withheld.items():
            metrics.WITHHELD.labels(*labels).inc(count)
        for latency in latencies:
            metrics.ROUTE_LATENCY.observe(latency)
        if self.replays is not None and self.replays.evicted > self._evicted:
            metrics.REPLAY_EVICTED.labels("router").inc(self.replays.evicted - self._evicted)
            self._evicted = self.replays.evicted

    async def _close(self) -> None:
        self.running = False
        await self._consumer.stop()
        await self.output.stop()
        await self._admin.close()


def _withheld(outcome: Delivery) -> Rejection:
    """The refusal of a delivered message for the consumers no agreement in force lets receive it."""
    field = "envelope.target" if outcome.envelope.target is not None else "envelope.type"
    return Rejection.of("routing", [FieldError(field, "agreement", w.reason) for w in outcome.withheld],
                        outcome.envelope, outcome.withheld)
