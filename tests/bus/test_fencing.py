"""Rebalances and fencing: a partition changes hands mid-stream and each message is still routed once.

Two routers in the test's process, on each broker: one joins while the other routes, one is stuck inside a
batch while the group gives its partitions away (a zombie), and, on Apache Kafka, a producer outside the
group fences the router's. On Apache Kafka the inbox, read committed, then holds each message once; on tansu
(at-least-once) nothing is missing.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import InvalidProducerEpoch

from hub.bus import guarantees
from hub.bus.guarantees import ExactlyOnce
from hub.bus.router import Router
from hub.bus.topics import BrokerLink, Topics
from hub.core.envelope import encode
from hub.testing.samples import dossier_submitted
from tests.support.records import produce, read_ids
from tests.support.router import MOT_CUA_KEY, running_router
from tests.support.waiting import eventually

N = 3000


class Stuck(Router):
    """A router whose next batch stops inside its transaction, after producing, until let go."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stuck, self.let_go = asyncio.Event(), asyncio.Event()

    async def _produce(self, producer, outcomes):
        acks = await super()._produce(producer, outcomes)
        if not self.stuck.is_set():
            self.stuck.set()
            await self.let_go.wait()
        return acks


async def stream(broker, envelopes, chunk: int = 100, pause: float = 0.05) -> None:
    for start in range(0, len(envelopes), chunk):
        part = envelopes[start:start + chunk]
        await produce(broker.client, broker.topics.ingress, [encode(e) for e in part],
                      [e.key.encode() for e in part], signer=MOT_CUA_KEY)
        await asyncio.sleep(pause)


def assert_routed_once(broker, envelopes, delivered) -> None:
    counts = Counter(delivered)
    assert counts.keys() == {e.id for e in envelopes}, f"{len(envelopes) - len(counts)} missing"
    if broker.kind == "kafka":
        assert max(counts.values()) == 1, f"{sum(n - 1 for n in counts.values())} duplicates"


async def delivered_once_all_arrived(broker, envelopes) -> list:
    ids = await read_ids(broker.client, broker.topics.inbox("ndxp"), {e.id for e in envelopes})
    await asyncio.sleep(2)  # a duplicate would show by now
    return await read_ids(broker.client, broker.topics.inbox("ndxp"), set(ids))


async def test_a_worker_joining_mid_stream_takes_partitions_without_duplicates(broker, tmp_path):
    envelopes = [dossier_submitted(counter=i) for i in range(N)]
    async with running_router(broker, tmp_path) as first:
        streaming = asyncio.create_task(stream(broker, envelopes))
        await eventually(lambda: first.stats.routed > 0, 60, "the first router routing")
        async with running_router(broker, tmp_path / "second", store=first._catalog.store) as second:
            await eventually(lambda: second.stats.routed > 0, 90, "the second router given partitions")
            await streaming
            delivered = await delivered_once_all_arrived(broker, envelopes)
    assert first.stats.routed and second.stats.routed
    assert_routed_once(broker, envelopes, delivered)


async def test_a_zombie_stuck_in_a_batch_cannot_commit_it(broker, tmp_path):
    """The stuck router misses the rebalance and Apache Kafka drops it from the group; the other takes every
    partition and its producers fence the zombie's. Let go, the zombie's commit fails. (tansu waits for
    every member to rejoin, however long: there the stuck router is let go after a while, and its batch
    may come twice.)"""
    envelopes = [dossier_submitted(counter=i) for i in range(N)]
    async with running_router(broker, tmp_path, router=Stuck) as zombie:
        streaming = asyncio.create_task(stream(broker, envelopes))
        await asyncio.wait_for(zombie.stuck.wait(), 60)
        async with running_router(broker, tmp_path / "second", store=zombie._catalog.store) as other:
            if broker.kind == "kafka":
                await eventually(lambda: other.stats.routed > 0, 90, "the other router routing the zombie's partitions")
            else:
                await asyncio.sleep(12)  # past the session timeout
            zombie.let_go.set()
            await streaming
            delivered = await delivered_once_all_arrived(broker, envelopes)
    if broker.kind == "kafka":
        assert zombie.output.fenced >= 1, "the zombie's transaction should have been fenced"
    assert_routed_once(broker, envelopes, delivered)


async def test_a_fenced_producer_aborts_its_batch_and_the_partition_is_taken_back(broker, tmp_path, monkeypatch):
    if broker.kind != "kafka":
        pytest.skip("tansu has no transactions: there is no producer to fence")
    monkeypatch.setattr(guarantees, "REFENCE_SECONDS", 1.0)
    envelopes = [dossier_submitted(counter=i) for i in range(600)]
    async with running_router(broker, tmp_path, router=Stuck, partitions=1) as router:
        streaming = asyncio.create_task(stream(broker, envelopes, chunk=20))
        await asyncio.wait_for(router.stuck.wait(), 60)
        tp = TopicPartition(broker.topics.ingress, 0)
        outsider = AIOKafkaProducer(**broker.client, enable_idempotence=True,
                                    transactional_id=router.output.transactional_id(tp))
        await outsider.start()
        await outsider.begin_transaction()  # its producer id bumps the epoch: the router's producer is fenced
        await outsider.abort_transaction()
        await outsider.stop()
        router.let_go.set()
        await streaming
        delivered = await delivered_once_all_arrived(broker, envelopes)
    assert router.output.fenced >= 1
    assert_routed_once(broker, envelopes, delivered)


class _Consumer:
    """What ExactlyOnce asks of its consumer, noted."""

    def __init__(self, tp: TopicPartition) -> None:
        self.tp, self.paused, self.seeks = tp, set(), []

    def assignment(self):
        return {self.tp}

    def pause(self, *tps):
        self.paused.update(tps)

    def resume(self, *tps):
        self.paused.difference_update(tps)

    def seek(self, tp, offset):
        self.seeks.append((tp.partition, offset))


class _Producer:
    def __init__(self, error: Exception) -> None:
        self.error, self.stopped = error, False

    async def begin_transaction(self):
        pass

    async def send_offsets_to_transaction(self, offsets, group):
        raise self.error

    async def stop(self):
        self.stopped = True


class _Record:
    def __init__(self, offset: int) -> None:
        self.offset = offset


async def test_invalid_producer_epoch_is_handled_as_a_fence():
    """Kafka answers a fenced producer's request with INVALID_PRODUCER_EPOCH as well as PRODUCER_FENCED."""
    tp = TopicPartition("t.ingress", 0)
    consumer, producer = _Consumer(tp), _Producer(InvalidProducerEpoch())
    output = ExactlyOnce(BrokerLink("127.0.0.1:1", Topics("t"), True, True), consumer, lambda tp: None)
    output._producers[tp] = producer

    async def produce(producer, share):
        return []

    await output.write({tp: [(_Record(41), None), (_Record(42), None)]}, produce)
    assert output.fenced == 1 and producer.stopped
    assert tp in consumer.paused and consumer.seeks == [(0, 41)]  # the batch is read again once taken back
    assert tp not in output._producers
