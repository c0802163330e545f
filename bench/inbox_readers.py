"""The receiver's side: a child process reads the inbox, so that it shares neither the router's core nor
the producer's event loop, and reports when (CLOCK_MONOTONIC is system-wide on Linux) and what it read."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
from typing import Any, Callable

from aiokafka import AIOKafkaConsumer
from sites import CONSUMER

from hub.bus.gaps import GapGuard


class InboxProcess:
    """A reader `target(*args, ready, done)` in a spawned child: it sets `ready` once it reads and puts its
    answer on `done`."""

    def __init__(self, target: Callable[..., None], *args: Any, name: str) -> None:
        ctx = mp.get_context("spawn")
        self._ready, self._done, self._name = ctx.Event(), ctx.Queue(), name
        self._process = ctx.Process(target=target, args=(*args, self._ready, self._done), daemon=True)

    async def start(self) -> InboxProcess:
        self._process.start()
        if not await asyncio.to_thread(self._ready.wait, 60):
            raise TimeoutError(f"{self._name} did not start")
        return self

    async def answer(self, timeout: float) -> Any:
        return await asyncio.to_thread(self._done.get, True, timeout)

    def stop(self) -> None:
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()

    async def result(self, timeout: float) -> Any:
        """The answer, then the child gone."""
        try:
            return await self.answer(timeout)
        finally:
            self.stop()


def count_inbox(client: dict, topic: str, n: int, ready: Any, done: Any) -> None:
    """route.py: consume `topic` from the start until n records arrived; report when (monotonic)."""
    async def consume() -> float:
        consumer = AIOKafkaConsumer(topic, **client, group_id=None, **CONSUMER)
        await consumer.start()
        ready.set()
        seen = 0
        try:
            while seen < n:
                batches = await consumer.getmany(timeout_ms=200, max_records=10_000)
                seen += sum(map(len, batches.values()))
            return time.monotonic()
        finally:
            await consumer.stop()
    done.put(asyncio.run(consume()))


def read_inbox(client: dict, inbox: str, expected: int, since_ms: int, latency: bool, ready: Any,
               done: Any) -> None:
    """scale.py: read the inbox until `expected` records sent since `since_ms` arrived (by their timestamp,
    which the router keeps from the ingress record); report when (monotonic) and what. From the start of the
    inbox: tansu's ListOffsets answers the base offset of a partition's last batch + 1, not its end, so a
    reader that seeks to the end re-reads part of the last batch. Through a GapGuard, as the hub's own
    readers: a live fetch on tansu can skip records (bench/gaps.py), and a reader that lost one would wait
    forever. For latency it polls with fetch_max_wait_ms=10."""
    async def read() -> dict:
        consumer = AIOKafkaConsumer(inbox, **client, group_id=None,
                                    **{**CONSUMER, **({"fetch_max_wait_ms": 10} if latency else {})})
        await consumer.start()
        guard = GapGuard("bench-inbox", consumer.seek)
        ready.set()
        seen, distinct, latencies = 0, set(), []
        try:
            while seen < expected:
                batches = guard.check(await consumer.getmany(timeout_ms=200, max_records=10_000))
                now_ms = time.time() * 1000
                for records in batches.values():
                    fresh = [r for r in records if r.timestamp >= since_ms]
                    seen += len(fresh)
                    distinct.update(hash(r.value) for r in fresh)
                    if latency:
                        latencies += [now_ms - r.timestamp for r in fresh]
            return {"at": time.monotonic(), "read": seen, "distinct": len(distinct), "latencies_ms": latencies,
                    "gaps_recovered": guard.recovered, "offsets_accepted_missing": guard.accepted}
        finally:
            await consumer.stop()
    done.put(asyncio.run(read()))


def inbox_reader(client: dict, inbox: str, expected: int, latency: bool = False) -> InboxProcess:
    """scale.py's reader of `expected` records sent from now on."""
    since_ms = int(time.time() * 1000)  # every record counted is sent after this
    return InboxProcess(read_inbox, client, inbox, expected, since_ms, latency, name="inbox reader")
