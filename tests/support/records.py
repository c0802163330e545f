"""Records sent to and read from a topic as they are, around the hub's own clients. Reads see committed
transactions only, as the hub's readers do (on tansu, which has none, that is every record)."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from hub.core.credentials import Credential
from hub.core.envelope import decode


async def produce(client: dict, topic: str, values: list[bytes], keys: list[bytes | None] | None = None,
                  signer: Credential | None = None, headers: list[tuple[str, bytes]] = ()) -> None:
    """Send records as they are; with `signer`, each carries its signature headers, then `headers`."""
    producer = AIOKafkaProducer(**client, enable_idempotence=False, linger_ms=5)
    await producer.start()
    try:
        acks = [await producer.send(topic, v, key=(keys[i] if keys else None),
                                    headers=[*(signer.headers(v) if signer else []), *headers] or None)
                for i, v in enumerate(values)]
        await asyncio.gather(*acks)
    finally:
        await producer.stop()


async def consume(client: dict, topic: str, count: int, timeout: float = 30.0, idle: float = 0.0) -> list:
    """Read `topic` from the start until `count` records arrived (then `idle` more seconds) or timeout."""
    consumer = AIOKafkaConsumer(topic, **client, group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False, fetch_max_wait_ms=100, isolation_level="read_committed")
    await consumer.start()
    records: list = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and len(records) < count:
            batches = await consumer.getmany(timeout_ms=200)
            records += [r for part in batches.values() for r in part]
        settle = time.monotonic() + idle
        while time.monotonic() < settle:
            batches = await consumer.getmany(timeout_ms=200)
            records += [r for part in batches.values() for r in part]
    finally:
        await consumer.stop()
    return records


async def read_ids(client: dict, topic: str, expected: set, timeout: float = 120.0) -> list:
    """Envelope ids on `topic` from the start, until every expected one was seen (duplicates kept: delivery
    is at-least-once, so counting records would stop early) or timeout."""
    consumer = AIOKafkaConsumer(topic, **client, group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False, fetch_max_wait_ms=100, isolation_level="read_committed")
    await consumer.start()
    ids: list = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not expected <= set(ids):
            batches = await consumer.getmany(timeout_ms=200)
            ids += [decode(r.value).id for part in batches.values() for r in part]
    finally:
        await consumer.stop()
    return ids
