"""scale.py's world for one measurement: a place on the broker with the hub's topics, a store with sender,
receiver and credential, and the real router workers as `python -m hub router` processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from dossiers import RECEIVER, SENDER, register
from sites import Place, Site, create_topics

from hub.audit.decisions import ROUTER_HEADER
from hub.core.credentials import Credential, issue
from hub.store import Store

ROOT = Path(__file__).resolve().parent.parent


class World:
    """A namespace on a broker with the hub's topics, a store with sender, receiver and credential."""

    def __init__(self, place: Place, scratch: Path, partitions: int, algorithm: str) -> None:
        self.place, self.scratch, self.partitions, self.algorithm = place, scratch, partitions, algorithm
        self.kind, self.client, self.topics = place.kind, place.client, place.topics
        self.ingress, self.inbox = self.topics.ingress, self.topics.inbox(RECEIVER)
        self.group = self.topics.router_group
        self.db_url = f"sqlite:///{scratch / 'hub.db'}"
        self.credential: Credential | None = None  # "none": unsigned, workers with LGSP_REQUIRE_SIGNATURES=false
        row = None
        if algorithm != "none":
            self.credential, row = issue(SENDER, algorithm)  # type: ignore[arg-type]
        store = Store(self.db_url)
        register(store, row)
        store.close()
        self.workers: list[subprocess.Popen] = []
        self._log = open(scratch / "workers.log", "ab")  # noqa: SIM115 - closed in close()

    @property
    def broker_pid(self) -> int | None:
        return self.place.broker_pid

    async def create_topics(self) -> None:
        await create_topics(self.place, [self.ingress, self.inbox, self.topics.dlq], self.partitions)

    def start_workers(self, count: int) -> None:
        env = {**os.environ, **self.place.env, "LGSP_DATABASE_URL": self.db_url,
               "LGSP_PARTITIONS": str(self.partitions),
               "LGSP_REQUIRE_SIGNATURES": "false" if self.algorithm == "none" else "true"}
        env.pop("LGSP_KAFKA_IDEMPOTENCE", None)  # the hub's default for the broker
        for _ in range(count):
            self.workers.append(subprocess.Popen(
                [sys.executable, "-m", "hub", "router", "--log-level", "warning"], env=env, cwd=ROOT,
                stdout=self._log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent))

    async def wait_group(self, members: int, timeout: float = 120.0) -> float:
        """Seconds until the router group is Stable with `members` members (tansu: several seconds)."""
        start = time.monotonic()
        admin = AIOKafkaAdminClient(**self.client)
        await admin.start()
        try:
            while time.monotonic() - start < timeout:
                self.check_workers()
                try:
                    group = (await admin.describe_consumer_groups([self.group]))[0].groups[0]
                    if group[2] == "Stable" and len(group[5]) == members:
                        return time.monotonic() - start
                except Exception:  # the group does not exist yet
                    pass
                await asyncio.sleep(0.25)
        finally:
            await admin.close()
        raise TimeoutError(f"group {self.group} not stable with {members} members within {timeout:g} s")

    def check_workers(self) -> None:
        for worker in self.workers:
            if worker.poll() is not None:
                self._log.flush()
                tail = (self.scratch / "workers.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"router worker {worker.pid} exited with {worker.returncode}:\n{tail}")

    def stop_workers(self) -> None:
        """SIGTERM: each worker finishes its batch, as on a real stop."""
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()

    async def routed_by_worker(self) -> list[int]:
        """Decision records per worker (their `lgsp-router` header, `<host>-<pid>`), in start order."""
        topic = self.place.topics.decisions
        consumer = AIOKafkaConsumer(**self.place.client, isolation_level="read_committed",
                                    enable_auto_commit=False)
        await consumer.start()
        try:
            tps = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or ())]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends, by_worker = await consumer.end_offsets(tps), Counter()
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                for records in (await consumer.getmany(timeout_ms=500, max_records=10_000)).values():
                    by_worker.update(dict(r.headers).get(ROUTER_HEADER, b"").decode() for r in records)
        finally:
            await consumer.stop()
        return [next((n for name, n in by_worker.items() if name.endswith(f"-{w.pid}")), 0) for w in self.workers]

    def close(self) -> None:
        self.stop_workers()
        self._log.close()


def die_with_parent() -> None:
    """Linux: a worker gets SIGTERM if this bench dies, even by SIGKILL (PR_SET_PDEATHSIG)."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except OSError:
        pass


@asynccontextmanager
async def world(site: Site, label: str, partitions: int, algorithm: str) -> AsyncIterator[World]:
    async with site.place(label) as place:
        with tempfile.TemporaryDirectory(prefix="lgsp-scale-") as scratch:
            w = World(place, Path(scratch), partitions, algorithm)
            try:
                yield w
            finally:
                w.close()
