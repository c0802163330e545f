"""Decision records on a namespace's `<prefix>.decisions` topic, published as the router publishes them."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import orjson
from aiokafka import AIOKafkaProducer

from hub.audit.decisions import Decision, encode
from hub.bus.admin import TopicAdmin
from hub.bus.log_indexer import LogIndexer
from hub.core import personal_id
from hub.store import Store

CITIZEN = personal_id.make("052", 1990, True, 1234)
PARTITIONS = 3


def made(n: int, start: int = 0, type: str = "dossier.submitted", at: float = 1_800_000_000.0,
         origin: bool = True) -> list[Decision]:
    """Delivered decisions about messages concerning CITIZEN; each from its own ingress offset (None: the HTTP edge)."""
    decisions = []
    for i in range(start, start + n):
        raw = orjson.dumps({"id": i, "type": type, "payload": {"MaHoSo": f"H22-{i}", "ChuHoSo": {"SoDinhDanh": CITIZEN}}})
        decisions.append(Decision(str(uuid.UUID(int=i + 1)), type, 1, "mot-cua", ("ndxp",), "delivered", None,
                                  None, None, f"H22-{i}", None, at + i, origin=f"lgsp.ingress/0/{i}" if origin else None,
                                  raw=raw))
    return decisions


async def ensure_topic(broker) -> None:
    admin = TopicAdmin(broker.link, broker.settings(partitions=PARTITIONS))
    await admin.start()
    try:
        await admin.ensure([broker.topics.decisions])
    finally:
        await admin.close()


async def publish(broker, decisions: list[Decision], per_transaction: int = 200) -> None:
    """As the router does: on Apache Kafka in transactions (a batch each), on tansu plainly."""
    transactional = broker.kind == "kafka"
    producer = AIOKafkaProducer(**broker.client, enable_idempotence=transactional, linger_ms=5,
                                transactional_id=f"test-router-{uuid.uuid4().hex[:8]}" if transactional else None)
    await producer.start()
    try:
        for start in range(0, len(decisions), per_transaction):
            await _send(producer, broker.topics.decisions, decisions[start:start + per_transaction], transactional)
    finally:
        await producer.stop()


async def _send(producer: AIOKafkaProducer, topic: str, batch: list[Decision], transactional: bool) -> None:
    async with producer.transaction() if transactional else contextlib.nullcontext():
        acks = []
        for d in batch:
            key, value, headers = encode(d)
            acks.append(await producer.send(topic, value, key=key, headers=headers))
        await asyncio.gather(*acks)


@contextlib.asynccontextmanager
async def running_indexer(broker, store: Store, **settings):
    """A log indexer in the test's process, reading the namespace's decisions."""
    prune_seconds = settings.pop("prune_seconds", 3600.0)
    indexer = LogIndexer(broker.link, store, broker.settings(partitions=PARTITIONS, **settings),
                         prune_seconds=prune_seconds, retry_seconds=0.2)
    await indexer.start()
    task = asyncio.create_task(indexer.run())
    try:
        yield indexer
    finally:
        await indexer.stop()
        await asyncio.wait_for(task, 15)
