"""Several log indexers share the decisions partitions (one per hub process): each partition's chain has one
writer at a time, across rebalances, on SQLite and PostgreSQL; every decision is stored once."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

from hub.audit.message_log import verify
from hub.store import Store
from tests.support.decisions import ensure_topic, made, publish, running_indexer
from tests.support.waiting import eventually

STREAM, CHUNK = 3000, 50


async def test_indexers_joining_and_leaving_mid_stream_store_each_decision_once(broker, store: Store):
    await ensure_topic(broker)
    sent = made(STREAM)

    async def stream() -> None:
        for start in range(0, STREAM, CHUNK):
            await publish(broker, sent[start:start + CHUNK], per_transaction=CHUNK)
            await asyncio.sleep(0.05)

    def stored() -> int:
        return sum(1 for _ in store.log_records())

    streaming = asyncio.create_task(stream())
    async with contextlib.AsyncExitStack() as stack:
        first = await stack.enter_async_context(running_indexer(broker, store))
        await eventually(lambda: first.indexed > 0, what="the first indexer indexing")
        second = await stack.enter_async_context(running_indexer(broker, store))
        await eventually(lambda: second.partitions and first.partitions.isdisjoint(second.partitions),
                         timeout=120, what="the partitions shared between the two")
        await first.stop()  # it leaves: the second takes all the partitions
        await asyncio.wait_for(streaming, 120)
        await eventually(lambda: stored() >= STREAM, timeout=60, what="every decision in the log")
        await eventually(lambda: second.lag == 0, what="the lag back to 0")
    origins = Counter(r["origin"] for r in store.log_records())
    assert len(origins) == STREAM and set(origins.values()) == {1}
    assert verify(store).ok and verify(store).checked == STREAM
