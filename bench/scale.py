"""Scaling of the router on Apache Kafka and on tansu: throughput with 1, 2 and 4 worker processes, latency
under load, memory over a backlog.

Run with `make bench-scale`, i.e. `.venv/bin/python bench/scale.py [--brokers kafka,tansu]` (both brokers,
about 15 min on two cores shared with other work); `--quick` runs a smaller set in about 4 min (20,000
messages, Ed25519 and unsigned, 3 s a latency level, a backlog of 100,000). Any option given beside
`--quick` wins over it.
A smoke run in under a minute:
`.venv/bin/python bench/scale.py --brokers tansu --messages 5000 --workers 1,2 --algorithms hmac-sha256,none
 --latency-seconds 2 --latency-algorithm hmac-sha256 --backlog 20000 --out /tmp/scale-smoke.json`.

For each broker of `--brokers`, every measurement gets a namespace nothing else uses: on Apache Kafka (as in
bench/route.py: one KRaft node on a temporary folder, started once per run) a fresh topic
prefix, hence fresh topics and a fresh router group; on tansu a fresh tansu (memory only, it never frees).
Each gets a fresh SQLite store with a sender (`mot-cua`), a receiver (`ndxp`) and the sender's credential,
and runs the real router workers as `python -m hub router` processes (the `lgsp-hub router` command, given
LGSP_BROKER, KAFKA_BOOTSTRAP_SERVERS and LGSP_TOPIC_PREFIX) in the group `<prefix>-router`. Producers are
configured as the hub's: idempotent on Apache Kafka, not on tansu; the workers decide for themselves from
LGSP_BROKER in the same way. Messages are dossier.submitted envelopes (bench/route.py's, each with its own
personal ID), signed, and built before any clock starts. A child process reads the receiver's inbox
`<prefix>.out.ndxp`, as a receiver would.

(a) throughput  for each signing algorithm (and unsigned, verification off) and 1, 2, 4 workers over
                `--partitions` ingress partitions: wait until the group is stable with every worker in it and
                a warm-up batch went through, then produce `--messages` as fast as the producer goes; clock:
                first send → Nth record read on the inbox (CLOCK_MONOTONIC is system-wide on Linux). Each
                worker's share is counted in the message log afterwards (one chain per worker).
(b) latency     one worker, a paced producer at 25/50/75% of the 1-worker peak of (a) on the same broker for
                `--latency-seconds` each; latency of a message = time it is read on the inbox minus its
                ingress record timestamp (set by the producer at send, kept by the router on the inbox
                record; millisecond resolution). This reader polls with fetch_max_wait_ms=10, the router
                with its own 50.
(c) memory      `--backlog` messages pre-loaded on the ingress with no worker running, then one worker
                started; its VmRSS (/proc/<pid>/status) is sampled every second until the backlog is
                routed (the group's committed ingress offsets), with the broker's.

The broker, the producer, the inbox reader and the workers all share this machine's cores: see
docs/performance.md for how to read the curve. Results go to bench/results/scale.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from route import (
    BROKERS,
    CONNECTORS,
    Message,
    Place,
    Site,
    create_topics,
    machine,
    make_messages,
    parse_brokers,
    stop_on_sigterm,
)
from route import signed as signed_by  # the same messages, producers and brokers as route.py

from hub.bus.brokers.process import rss_bytes
from hub.bus.gaps import GapGuard
from hub.core.credentials import Credential, issue
from hub.core.ids import uuid7
from hub.store import Store, message_log

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SENDER, RECEIVER = "mot-cua", "ndxp"
READER = dict(enable_auto_commit=False, fetch_max_wait_ms=50, max_partition_fetch_bytes=8 << 20)
WARM_UP = 200  # messages through the workers before a clock starts


# -- one measurement's world: broker, store, workers --------------------------------------------------------
class World:
    """A namespace on a broker with the hub's topics, a store with sender, receiver and credential."""

    def __init__(self, place: Place, scratch: Path, partitions: int, algorithm: str) -> None:
        self.place, self.scratch, self.partitions, self.algorithm = place, scratch, partitions, algorithm
        self.kind, self.bootstrap, self.topics = place.kind, place.bootstrap, place.topics
        self.ingress, self.inbox = self.topics.ingress, self.topics.inbox(RECEIVER)
        self.group = self.topics.router_group
        self.db_url = f"sqlite:///{scratch / 'hub.db'}"
        store = Store(self.db_url)
        for spec in CONNECTORS:
            store.put_connector(spec["id"], spec)
        self.credential: Credential | None = None  # "none": unsigned, workers with LGSP_REQUIRE_SIGNATURES=false
        if algorithm != "none":
            self.credential, row = issue(SENDER, algorithm)  # type: ignore[arg-type]
            store.add_credential(row, None)
        store.close()
        self.workers: list[subprocess.Popen] = []
        self._log = open(scratch / "workers.log", "ab")  # noqa: SIM115 - closed in close()

    @property
    def broker_pid(self) -> int | None:
        return self.place.broker_pid

    async def create_topics(self) -> None:
        await create_topics(self.place, [self.ingress, self.inbox, self.topics.dlq], self.partitions)

    def start_workers(self, count: int) -> None:
        env = {**os.environ, "LGSP_BROKER": self.kind, "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
               "LGSP_TOPIC_PREFIX": self.topics.prefix, "LGSP_DATABASE_URL": self.db_url,
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
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
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
        """SIGTERM: each worker finishes its batch and writes its message log, as on a real stop."""
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()

    def routed_by_worker(self) -> list[int]:
        """Decisions in the message log per worker (chain `<host>-<pid>`, hub.audit.message_log.worker_id), in start order."""
        engine = sa.create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                rows = dict(conn.execute(sa.select(message_log.c.chain, sa.func.count())
                                         .group_by(message_log.c.chain)).all())
        finally:
            engine.dispose()
        return [next((n for chain, n in rows.items() if chain.endswith(f"-{w.pid}")), 0) for w in self.workers]

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


# -- the inbox reader (a child process, so that it does not share the producer's event loop) ---------------
def read_inbox(bootstrap: str, inbox: str, expected: int, since_ms: int, latency: bool, ready: Any,
               done: Any) -> None:
    """Read the inbox until `expected` records sent since `since_ms` arrived (by their timestamp, which the
    router keeps from the ingress record); report when (monotonic) and what. From the start of the inbox:
    tansu's ListOffsets answers the base offset of a partition's last batch + 1, not its end, so a reader
    that seeks to the end re-reads part of the last batch. Through a GapGuard, as the hub's own readers:
    a live fetch on tansu can skip records (bench/gaps.py), and a reader that lost one would wait forever."""
    async def read() -> dict:
        consumer = AIOKafkaConsumer(inbox, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                                    **{**READER, **({"fetch_max_wait_ms": 10} if latency else {})})
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


class Reader:
    def __init__(self, w: World, expected: int, latency: bool = False) -> None:
        ctx = mp.get_context("spawn")
        self._ready, self._done = ctx.Event(), ctx.Queue()
        since_ms = int(time.time() * 1000)  # every record counted is sent after this
        self._process = ctx.Process(target=read_inbox, daemon=True,
                                    args=(w.bootstrap, w.inbox, expected, since_ms, latency, self._ready, self._done))

    async def start(self) -> Reader:
        self._process.start()
        if not await asyncio.to_thread(self._ready.wait, 60):
            raise TimeoutError("inbox reader did not start")
        return self

    async def result(self, timeout: float) -> dict:
        try:
            return await asyncio.to_thread(self._done.get, True, timeout)
        finally:
            self._process.join(5)
            if self._process.is_alive():
                self._process.kill()


# -- producing ----------------------------------------------------------------------------------------------
def signed(messages: list[Message], credential: Credential | None) -> list[Message]:
    """Unsigned ("none") as built, else with the credential's signature headers."""
    return signed_by(messages, credential) if credential else messages


async def producer_for(w: World) -> AIOKafkaProducer:
    producer = AIOKafkaProducer(bootstrap_servers=w.bootstrap, **w.place.producer)  # idempotent on Kafka
    await producer.start()
    return producer


async def send_all(producer: AIOKafkaProducer, topic: str, messages: list[Message]) -> None:
    acks = [await producer.send(topic, value, key=key, headers=headers) for key, value, headers in messages]
    await asyncio.gather(*acks)


async def warm_up(w: World, producer: AIOKafkaProducer, messages: list[Message], timeout: float) -> None:
    reader = await Reader(w, len(messages)).start()
    await send_all(producer, w.ingress, messages)
    await reader.result(timeout)


# -- (a) throughput -----------------------------------------------------------------------------------------
async def throughput(site: Site, args: argparse.Namespace, workers: int, algorithm: str,
                     messages: list[Message]) -> dict:
    async with world(site, f"a-{algorithm}-{workers}", args.partitions, algorithm) as w:
        await w.create_topics()
        batch = signed(messages, w.credential)
        w.start_workers(workers)
        joined = await w.wait_group(workers)
        producer = await producer_for(w)
        try:
            await warm_up(w, producer, signed(messages[:WARM_UP], w.credential), args.timeout)
            reader = await Reader(w, len(batch)).start()
            start = time.monotonic()
            await send_all(producer, w.ingress, batch)
            produced = time.monotonic() - start
            got = await reader.result(args.timeout)
        finally:
            await producer.stop()
        w.check_workers()
        w.stop_workers()
        seconds = got["at"] - start
        shares = w.routed_by_worker()
    return {"workers": workers, "algorithm": algorithm, "messages": len(batch),
            "msg_per_s": round(len(batch) / seconds), "seconds": round(seconds, 3),
            "produce_seconds": round(produced, 3), "group_join_seconds": round(joined, 1),
            "read": got["read"], "duplicates": got["read"] - got["distinct"],
            "reader_gaps_recovered": got["gaps_recovered"], "reader_offsets_missing": got["offsets_accepted_missing"],
            "routed_per_worker": shares}  # warm-up included, from the message log


# -- (b) latency under load ---------------------------------------------------------------------------------
def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


async def paced(producer: AIOKafkaProducer, topic: str, messages: list[Message], rate: float) -> float:
    """Send at `rate` per second in 5 ms ticks; the rate achieved."""
    acks, sent, start = [], 0, time.monotonic()
    while sent < len(messages):
        due = min(len(messages), int((time.monotonic() - start) * rate) + 1)
        for key, value, headers in messages[sent:due]:
            acks.append(await producer.send(topic, value, key=key, headers=headers))
        sent = due
        await asyncio.sleep(0.005)
    await asyncio.gather(*acks)
    return len(messages) / (time.monotonic() - start)


async def latency(site: Site, args: argparse.Namespace, peak: float, messages: list[Message]) -> list[dict]:
    levels = []
    async with world(site, "b-latency", args.partitions, args.latency_algorithm) as w:
        await w.create_topics()
        w.start_workers(1)
        await w.wait_group(1)
        producer = await producer_for(w)
        try:
            await warm_up(w, producer, signed(messages[:WARM_UP], w.credential), args.timeout)
            for share in (0.25, 0.50, 0.75):
                rate = peak * share
                count = max(1, int(rate * args.latency_seconds))
                batch = signed([messages[i % len(messages)] for i in range(count)], w.credential)
                reader = await Reader(w, count, latency=True).start()
                achieved = await paced(producer, w.ingress, batch, rate)
                got = await reader.result(args.timeout)
                values = sorted(got["latencies_ms"])
                levels.append({"share_of_peak": share, "target_msg_per_s": round(rate),
                               "sent_msg_per_s": round(achieved), "messages": count,
                               "p50_ms": round(percentile(values, 0.50), 1),
                               "p95_ms": round(percentile(values, 0.95), 1),
                               "p99_ms": round(percentile(values, 0.99), 1), "max_ms": round(values[-1], 1)})
                w.check_workers()
        finally:
            await producer.stop()
    return levels


# -- (c) memory over a backlog ------------------------------------------------------------------------------
def backlog_messages(templates: list[Message], count: int, credential: Credential | None,
                     chunk: int) -> Iterator[list[Message]]:
    """`count` messages in chunks, made as they are needed (a million do not sit in this process):
    the templates over and over, each with a fresh envelope id, signed."""
    ids = [json.loads(value)["id"].encode() for _, value, _ in templates]
    for start in range(0, count, chunk):
        out = []
        for i in range(start, min(count, start + chunk)):
            key, value, _ = templates[i % len(templates)]
            value = value.replace(ids[i % len(templates)], str(uuid7()).encode(), 1)
            out.append((key, value, credential.headers(value) if credential else []))
        yield out


def log_count(db_url: str) -> int | None:
    """Decisions the worker wrote to the message log so far; None while a long log write holds the lock."""
    engine = sa.create_engine(db_url, connect_args={"timeout": 0.5})
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(message_log)).scalar()
    except sa.exc.OperationalError:
        return None
    finally:
        engine.dispose()


async def committed(consumer: AIOKafkaConsumer, topic: str, partitions: int) -> int:
    """Ingress records the router group committed: routed, and acknowledged by the broker on the inbox.
    (Not the inbox's end offsets: tansu answers ListOffsets with the last batch's base offset + 1.)"""
    return sum([await consumer.committed(TopicPartition(topic, p)) or 0 for p in range(partitions)])


async def memory(site: Site, args: argparse.Namespace, messages: list[Message]) -> dict:
    async with world(site, "c-backlog", args.partitions, args.backlog_algorithm) as w:
        await w.create_topics()
        broker_before_preload = rss_bytes(w.broker_pid)
        producer = await producer_for(w)
        start = time.monotonic()
        try:
            for chunk in backlog_messages(messages, args.backlog, w.credential, 20_000):
                await send_all(producer, w.ingress, chunk)
        finally:
            await producer.stop()
        preload = time.monotonic() - start
        broker_after_preload = rss_bytes(w.broker_pid)
        offsets = AIOKafkaConsumer(bootstrap_servers=w.bootstrap, group_id=w.group, enable_auto_commit=False)
        await offsets.start()
        samples: list[dict] = []
        try:
            w.start_workers(1)
            pid, start = w.workers[0].pid, time.monotonic()
            delivered = 0
            while delivered < args.backlog:
                w.check_workers()
                if time.monotonic() - start > args.timeout * 10:
                    raise TimeoutError(f"backlog not routed: {delivered:,} of {args.backlog:,}")
                delivered = await committed(offsets, w.ingress, w.partitions)
                samples.append({"t": round(time.monotonic() - start, 1), "routed": delivered,
                                "logged": await asyncio.to_thread(log_count, w.db_url),
                                "worker_rss_mb": round(rss_bytes(pid) / 2**20, 1),
                                "broker_rss_mb": round(rss_bytes(w.broker_pid) / 2**20)})
                await asyncio.sleep(1.0)
        finally:
            await offsets.stop()
        w.stop_workers()
    first = next(s["t"] for s in samples if s["routed"] > 0)
    routing = [s for s in samples if s["routed"] > 0]  # from the first delivery on (group join excluded)
    rss = [s["worker_rss_mb"] for s in routing]
    return {"backlog": args.backlog, "algorithm": args.backlog_algorithm, "preload_seconds": round(preload, 1),
            "broker_rss_mb_before_preload": round(broker_before_preload / 2**20),
            "broker_rss_mb_after_preload": round(broker_after_preload / 2**20),
            "first_delivery_after_s": first, "routed_in_s": round(routing[-1]["t"] - first, 1),
            "msg_per_s": round(args.backlog / max(0.001, routing[-1]["t"] - first)),
            "worker_rss_mb": {"min": min(rss), "max": max(rss), "last": rss[-1],
                              "at_10_percent": next(s["worker_rss_mb"] for s in routing
                                                    if s["routed"] >= args.backlog / 10)},
            "broker_rss_mb_last": routing[-1]["broker_rss_mb"], "samples": samples}


# -- report -------------------------------------------------------------------------------------------------
def print_report(results: dict) -> None:
    for b in results["brokers"].values():
        print(f"\n== {b['broker']} ({b['fresh']}; idempotent producers: {b['idempotent_producers']})")
        print(f"(a) throughput, {results['partitions']} partitions, {results['messages']:,} messages each")
        print(f"{'algorithm':<12} {'workers':>7} {'msg/s':>9} {'× 1 worker':>10}  routed per worker (message log)")
        for row in b["throughput"]:
            base = next((r for r in b["throughput"] if r["algorithm"] == row["algorithm"] and r["workers"] == 1),
                        None)
            ratio = f"{row['msg_per_s'] / base['msg_per_s']:.2f}" if base else "–"
            print(f"{row['algorithm']:<12} {row['workers']:>7} {row['msg_per_s']:>9,} "
                  f"{ratio:>10}  {row['routed_per_worker']}")
        if b.get("latency"):
            print(f"(b) latency, one worker ({results['latency_algorithm']}), peak {b['peak_msg_per_s']:,} msg/s")
            print(f"{'load':>5} {'msg/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
            for lv in b["latency"]:
                print(f"{lv['share_of_peak']:>5.0%} {lv['sent_msg_per_s']:>8,} {lv['p50_ms']:>8} {lv['p95_ms']:>8} "
                      f"{lv['p99_ms']:>8} {lv['max_ms']:>8}")
        if b.get("memory"):
            m = b["memory"]
            r = m["worker_rss_mb"]
            print(f"(c) memory, one worker routing a backlog of {m['backlog']:,} ({m['msg_per_s']:,} msg/s): worker "
                  f"RSS min {r['min']} MB, max {r['max']} MB, last {r['last']} MB (at 10%: {r['at_10_percent']} MB); "
                  f"broker {m['broker_rss_mb_before_preload']} → {m['broker_rss_mb_last']} MB")
    ratios = results.get("kafka_to_tansu")
    if ratios:
        print("\nApache Kafka / tansu, throughput: " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))


async def on_broker(kind: str, args: argparse.Namespace, messages: list[Message]) -> dict:
    results: dict[str, Any] = {"throughput": []}
    async with Site(kind) as site:
        for algorithm in args.algorithms if args.messages > 0 else ():
            for workers in args.workers:
                row = await throughput(site, args, workers, algorithm, messages[:args.messages])
                print(f"  [{kind}] {algorithm} {workers} worker(s): {row['msg_per_s']:,} msg/s", flush=True)
                results["throughput"].append(row)
        if args.latency_seconds > 0:
            peak = args.peak or next((r["msg_per_s"] for r in results["throughput"]
                                      if r["workers"] == 1 and r["algorithm"] == args.latency_algorithm), None)
            if peak is None:
                raise SystemExit("(b) needs the 1-worker peak: measure it in (a) or give --peak")
            results["peak_msg_per_s"] = peak
            results["latency"] = await latency(site, args, peak, messages)
            print(f"  [{kind}] latency measured", flush=True)
        if args.backlog > 0:
            results["memory"] = await memory(site, args, messages)
            print(f"  [{kind}] backlog of {args.backlog:,} routed", flush=True)
        results = {"broker": site.name, "version": site.version, "idempotent_producers": kind == "kafka",
                   "fresh": "one broker, a fresh topic prefix per measurement" if kind == "kafka"
                   else "a fresh broker per measurement", **results}
    return results


async def measure(args: argparse.Namespace) -> dict:
    messages = make_messages(max(args.messages, WARM_UP))
    return {kind: await on_broker(kind, args, messages) for kind in args.brokers}


FULL = {"messages": 100_000, "workers": [1, 2, 4], "algorithms": ["ed25519", "hmac-sha256", "none"],
        "latency_seconds": 10.0, "latency_algorithm": "ed25519", "backlog": 1_000_000}
QUICK = {"messages": 20_000, "workers": [1, 2, 4], "algorithms": ["ed25519", "none"],
         "latency_seconds": 3.0, "latency_algorithm": "ed25519", "backlog": 100_000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", type=parse_brokers, default=list(BROKERS),
                        help="brokers to measure on, comma-separated (default: kafka,tansu)")
    parser.add_argument("--quick", action="store_true",
                        help="a smaller set: " + ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in QUICK.items()))
    parser.add_argument("--messages", type=int, help=f"messages per throughput measurement; 0 skips (a) "
                        f"(default {FULL['messages']})")
    parser.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")],
                        help="worker counts of (a), comma-separated (default 1,2,4)")
    parser.add_argument("--partitions", type=int, default=8, help="partitions of ingress and inbox (≥ workers)")
    parser.add_argument("--algorithms", type=lambda s: s.split(","),
                        help="signing algorithms of (a), comma-separated (default ed25519,hmac-sha256,none); "
                             "none: unsigned, verification off (LGSP_REQUIRE_SIGNATURES=false, to see its cost)")
    parser.add_argument("--latency-seconds", type=float, help="seconds per load level of (b); 0 skips (default 10)")
    parser.add_argument("--latency-algorithm", help="signing algorithm of (b) (default ed25519)")
    parser.add_argument("--peak", type=float, default=None, help="1-worker peak for (b) instead of (a)'s")
    parser.add_argument("--backlog", type=int, help=f"messages of (c); 0 skips (default {FULL['backlog']:,})")
    parser.add_argument("--backlog-algorithm", default="hmac-sha256",
                        help="signing algorithm of (c) (hmac: a million Ed25519 signatures take a minute to make)")
    parser.add_argument("--out", type=Path, default=RESULTS / "scale.json", help="where the results go")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds any one wait may take")
    args = parser.parse_args()
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.messages > 0 and max(args.workers) > args.partitions:
        parser.error("--partitions must be at least the largest worker count")
    stop_on_sigterm()

    started = datetime.now(timezone.utc)
    facts = machine()
    brokers = asyncio.run(measure(args))
    results = {"timestamp": started.isoformat(timespec="seconds"),
               "command": shlex.join([os.path.relpath(sys.executable, ROOT), *sys.argv]),
               "machine": facts, "quick": args.quick, "messages": args.messages, "partitions": args.partitions,
               "message_bytes": len(make_messages(1)[0][1]), "latency_algorithm": args.latency_algorithm,
               "wall_seconds": round((datetime.now(timezone.utc) - started).total_seconds()),
               "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
               "brokers": brokers}
    if "kafka" in brokers and "tansu" in brokers:
        pairs = {(r["algorithm"], r["workers"]): r["msg_per_s"] for r in brokers["tansu"]["throughput"]}
        results["kafka_to_tansu"] = {f"{r['algorithm']} ×{r['workers']}": round(r["msg_per_s"] / pairs[key], 3)
                                     for r in brokers["kafka"]["throughput"]
                                     if (key := (r["algorithm"], r["workers"])) in pairs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print_report(results)
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    sys.exit(main())
