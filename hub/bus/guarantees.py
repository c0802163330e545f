"""How the router's output of a batch becomes final: its two delivery guarantees.

`ExactlyOnce` (Apache Kafka): each ingress partition the worker owns has a transactional producer of its own
(transactional id `<router group>-<topic>-<partition>`). A batch's share of a partition (its deliveries, dead
letters and decision records) and the partition's next offset go in one transaction: a read-committed
reader sees all of it or none. Whoever is given a partition starts its producer first, which fences the
previous owner: that owner's open transaction is aborted at once and any later commit of its fails. The id
is per partition rather than per worker because aiokafka commits offsets to a transaction without the
group's generation (TxnOffsetCommit v0, no KIP-447): only the transactional id can stop a zombie.

`AtLeastOnce` (tansu, which has no transactions): one producer; a batch is acknowledged, then its offsets
committed. A crash between the two re-delivers the batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, InvalidProducerEpoch, KafkaError, ProducerFenced

from hub.bus.topics import RECORD_BYTES_MAX, BrokerLink

log = logging.getLogger(__name__)
Produce = Callable[[AIOKafkaProducer, list[tuple[ConsumerRecord, object]]], Awaitable[list[asyncio.Future]]]
Shares = dict[TopicPartition, list[tuple[ConsumerRecord, object]]]  # a batch, per ingress partition, in offset order
FENCED = (ProducerFenced, InvalidProducerEpoch)
# An open transaction holds back read-committed readers of every partition it wrote; one left open by a
# worker that died, and that no new owner fenced, is aborted by the broker after this long.
TRANSACTION_TIMEOUT_MS = 15_000
GIVE_UP_SECONDS = 30.0  # a transaction's records are acknowledged in milliseconds: past this, something is wrong
REFENCE_SECONDS = 10.0  # a fenced partition still assigned here is taken back after this (a session timeout)
CLOSE_SECONDS = 5.0


async def track(producer: AIOKafkaProducer, topics: set[str]) -> None:
    """Have the producer's metadata follow `topics`. aiokafka tracks a topic only when it first sends to one it
    has no metadata for: a topic it learnt from its first, all-topics metadata is dropped by the next update
    for the topics it tracks, and a batch for it then waits for a leader for ever."""
    await asyncio.gather(*(producer.client.add_topic(topic) for topic in topics))


def producer_config(link: BrokerLink) -> dict:
    return {**link.client, "acks": "all", "linger_ms": 2,
            "max_batch_size": 1 << 20, "max_request_size": RECORD_BYTES_MAX}


class AtLeastOnce:
    delivery = "at-least-once"
    finishes_before_rebalance = False  # the consumer commits: that waits for a rebalance in progress

    def __init__(self, link: BrokerLink, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer
        self._producer = AIOKafkaProducer(**producer_config(link), enable_idempotence=link.idempotence)

    async def start(self) -> None:
        await self._producer.start()

    async def track(self, topics: set[str]) -> None:
        await track(self._producer, topics)

    async def write(self, shares: Shares, produce: Produce) -> None:
        await asyncio.gather(*await produce(self._producer, [pair for share in shares.values() for pair in share]))
        owned = self._consumer.assignment()  # lost partitions: their new owner routes them again
        offsets = {tp: share[-1][0].offset + 1 for tp, share in shares.items() if tp in owned}
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            log.warning("offset commit failed after a rebalance, batches will be re-delivered: %s", exc)

    def revoked(self, revoked: set[TopicPartition]) -> None:
        pass

    async def assigned(self, assigned: set[TopicPartition]) -> None:
        pass

    async def maintain(self) -> None:
        pass

    async def stop(self) -> None:
        await self._producer.stop()


class ExactlyOnce:
    delivery = "exactly-once"
    finishes_before_rebalance = True  # a transaction does not wait for the group: the rebalance waits for it

    def __init__(self, link: BrokerLink, consumer: AIOKafkaConsumer, forget: Callable[[TopicPartition], None]) -> None:
        self._link, self._consumer, self._forget = link, consumer, forget
        self._group = link.topics.router_group
        self._producers: dict[TopicPartition, AIOKafkaProducer] = {}
        self._unowned: dict[TopicPartition, float] = {}  # assigned but fenced or not yet claimed: when to claim it
        self._revoked: set[TopicPartition] = set()  # taken away by a rebalance still in progress
        self._topics: set[str] = set()  # every topic written so far
        self._next: dict[TopicPartition, int | None] = {}  # the offset the next share must start at (None: any)
        self.fenced = 0  # transactions refused because another producer took the partition's transactional id

    async def start(self) -> None:
        pass

    def transactional_id(self, tp: TopicPartition) -> str:
        return f"{self._group}-{tp.topic}-{tp.partition}"

    def revoked(self, revoked: set[TopicPartition]) -> None:
        """No transaction begins on these until the rebalance says who owns them now (if this worker still
        does, it reads them again from its last commit)."""
        self._revoked |= revoked

    async def assigned(self, assigned: set[TopicPartition]) -> None:
        """A rebalance gave this worker `assigned`: producers for the new ones, each fencing the last owner;
        reading starts at the offsets committed once that owner can commit no more."""
        self._revoked.clear()
        for tp in set(self._producers) - assigned:
            await self._close(tp)
        for tp in set(self._producers) & assigned:  # kept: from its last commit, whatever was fetched since
            if self._next.get(tp) is not None:
                self._consumer.seek(tp, self._next[tp])
                self._forget(tp)
        self._unowned = {tp: at for tp, at in self._unowned.items() if tp in assigned}
        new = assigned - set(self._producers) - set(self._unowned)
        self._consumer.pause(*new)  # the consumer fetches meanwhile: nothing of theirs is routed before the fence
        await asyncio.gather(*(self._claim(tp) for tp in new))

    async def _claim(self, tp: TopicPartition) -> None:
        """Own `tp`, or leave it paused and try again shortly (the broker may be away)."""
        try:
            await self._own(tp)
            self._consumer.resume(tp)
        except Exception as exc:
            await self._close(tp)
            if tp in self._consumer.assignment():  # else it went to another worker meanwhile
                log.warning("cannot claim %s-%d yet, retrying: %s", tp.topic, tp.partition, exc)
                self._consumer.pause(tp)
                self._unowned[tp] = time.monotonic() + 1.0

    async def _own(self, tp: TopicPartition) -> None:
        producer = AIOKafkaProducer(**producer_config(self._link), transactional_id=self.transactional_id(tp),
                                    enable_idempotence=True, transaction_timeout_ms=TRANSACTION_TIMEOUT_MS)
        await producer.start()
        await producer.begin_transaction()  # waits for the producer id: the previous owner is fenced by then
        await producer.abort_transaction()
        self._producers[tp] = producer
        committed = await self._consumer.committed(tp)  # read after the fence: nothing commits behind it
        if committed is None:
            await self._consumer.seek_to_beginning(tp)
        else:
            self._consumer.seek(tp, committed)
        self._next[tp] = committed
        self._forget(tp)

    async def track(self, topics: set[str]) -> None:
        self._topics |= topics  # each transaction has its producer track them (one claimed meanwhile too)

    async def write(self, shares: Shares, produce: Produce) -> None:
        await asyncio.gather(*(self._transaction(tp, share, produce) for tp, share in shares.items()))

    async def _transaction(self, tp: TopicPartition, share: list, produce: Produce) -> None:
        producer = self._producers.get(tp)
        if tp in self._revoked:
            return
        if producer is None:  # revoked, fenced or not claimed yet: read again by whoever owns it
            self._rewind(tp, share[0][0].offset)
            return
        if self._next.get(tp) not in (None, share[0][0].offset):
            return  # fetched before a rewind or a claim moved the partition: it is read again from there
        try:  # bounded: a fenced or stalled producer's sender may never answer the futures of its records
            await asyncio.wait_for(self._commit(producer, tp, share, produce), GIVE_UP_SECONDS)
            self._next[tp] = share[-1][0].offset + 1
        except FENCED as exc:
            self.fenced += 1
            log.warning("router producer for %s-%d fenced (%s): its batch is left to the partition's owner",
                        tp.topic, tp.partition, type(exc).__name__)
            await self._close(tp)
            if tp in self._consumer.assignment():  # else the fence was the rebalance that took it away
                self._unowned[tp] = time.monotonic() + REFENCE_SECONDS
                self._consumer.pause(tp)
                self._rewind(tp, share[0][0].offset)
        except (KafkaError, asyncio.TimeoutError) as exc:
            log.warning("transaction for %s-%d aborted, its batch is routed again: %r", tp.topic, tp.partition, exc)
            await self._abort(tp, producer)
            self._rewind(tp, share[0][0].offset)

    async def _commit(self, producer: AIOKafkaProducer, tp: TopicPartition, share: list, produce: Produce) -> None:
        await track(producer, self._topics)
        await producer.begin_transaction()
        await asyncio.gather(*await produce(producer, share))
        await producer.send_offsets_to_transaction({tp: share[-1][0].offset + 1}, self._group)
        await producer.commit_transaction()

    def _rewind(self, tp: TopicPartition, offset: int) -> None:
        if tp in self._consumer.assignment():
            self._consumer.seek(tp, offset)
            self._next[tp] = offset
            self._forget(tp)

    async def _abort(self, tp: TopicPartition, producer: AIOKafkaProducer) -> None:
        try:
            await asyncio.wait_for(producer.abort_transaction(), CLOSE_SECONDS)
        except Exception:  # a producer that cannot abort is replaced; its transaction is aborted by the next one
            await self._close(tp)
            if tp in self._consumer.assignment():
                await self._claim(tp)

    async def maintain(self) -> None:
        """Claim the partitions the group gives this worker but it does not own: a fence that was not a
        rebalance, or a claim that failed."""
        now = time.monotonic()
        for tp in [tp for tp, at in self._unowned.items() if at <= now]:
            del self._unowned[tp]
            if tp in self._consumer.assignment():
                await self._claim(tp)

    async def _close(self, tp: TopicPartition) -> None:
        producer = self._producers.pop(tp, None)
        self._next.pop(tp, None)
        if producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), CLOSE_SECONDS)

    async def stop(self) -> None:
        await asyncio.gather(*(self._close(tp) for tp in list(self._producers)))
