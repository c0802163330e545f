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
                worker's share is counted on the decisions topic afterwards (each record names its worker).
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
import os
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from backlog import memory
from dossiers import Message, make_messages, renewed
from dossiers import signed as signed_by
from inbox_readers import inbox_reader
from runs import RESULTS, ended, machine, stop_on_sigterm, write_results
from sites import BROKERS, Site, parse_brokers, send_all, started_producer
from workers import ROOT, World, world

from hub.core.credentials import Credential

WARM_UP = 200  # messages through the workers before a clock starts


def signed(messages: list[Message], credential: Credential | None) -> list[Message]:
    """Unsigned ("none") as built, else with the credential's signature headers."""
    return signed_by(messages, credential) if credential else messages


async def warm_up(w: World, producer: AIOKafkaProducer, messages: list[Message], timeout: float) -> None:
    reader = await inbox_reader(w.client, w.inbox, len(messages)).start()
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
        producer = await started_producer(w.place)
        try:
            await warm_up(w, producer, signed(renewed(messages[:WARM_UP]), w.credential), args.timeout)
            reader = await inbox_reader(w.client, w.inbox, len(batch)).start()
            start = time.monotonic()
            await send_all(producer, w.ingress, batch)
            produced = time.monotonic() - start
            got = await reader.result(args.timeout)
        finally:
            await producer.stop()
        w.check_workers()
        w.stop_workers()
        seconds = got["at"] - start
        shares = await w.routed_by_worker()
    return {"workers": workers, "algorithm": algorithm, "messages": len(batch),
            "msg_per_s": round(len(batch) / seconds), "seconds": round(seconds, 3),
            "produce_seconds": round(produced, 3), "group_join_seconds": round(joined, 1),
            "read": got["read"], "duplicates": got["read"] - got["distinct"],
            "reader_gaps_recovered": got["gaps_recovered"], "reader_offsets_missing": got["offsets_accepted_missing"],
            "routed_per_worker": shares}  # warm-up included, from the decision records


# -- (b) latency under load ---------------------------------------------------------------------------------
def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def spread(latencies_ms: list[float]) -> dict[str, float]:
    values = sorted(latencies_ms)
    return {"p50_ms": round(percentile(values, 0.50), 1), "p95_ms": round(percentile(values, 0.95), 1),
            "p99_ms": round(percentile(values, 0.99), 1), "max_ms": round(values[-1], 1)}


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
        producer = await started_producer(w.place)
        try:
            await warm_up(w, producer, signed(renewed(messages[:WARM_UP]), w.credential), args.timeout)
            for share in (0.25, 0.50, 0.75):
                rate = peak * share
                count = max(1, int(rate * args.latency_seconds))
                batch = signed(renewed([messages[i % len(messages)] for i in range(count)]), w.credential)
                reader = await inbox_reader(w.client, w.inbox, count, latency=True).start()
                achieved = await paced(producer, w.ingress, batch, rate)
                got = await reader.result(args.timeout)
                levels.append({"share_of_peak": share, "target_msg_per_s": round(rate),
                               "sent_msg_per_s": round(achieved), "messages": count,
                               **spread(got["latencies_ms"])})
                w.check_workers()
        finally:
            await producer.stop()
    return levels


# -- report -------------------------------------------------------------------------------------------------
def print_throughput(b: dict, results: dict) -> None:
    print(f"(a) throughput, {results['partitions']} partitions, {results['messages']:,} messages each")
    print(f"{'algorithm':<12} {'workers':>7} {'msg/s':>9} {'× 1 worker':>10}  routed per worker (decision records)")
    for row in b["throughput"]:
        base = next((r for r in b["throughput"] if r["algorithm"] == row["algorithm"] and r["workers"] == 1), None)
        ratio = f"{row['msg_per_s'] / base['msg_per_s']:.2f}" if base else "–"
        print(f"{row['algorithm']:<12} {row['workers']:>7} {row['msg_per_s']:>9,} "
              f"{ratio:>10}  {row['routed_per_worker']}")


def print_latency(b: dict, results: dict) -> None:
    print(f"(b) latency, one worker ({results['latency_algorithm']}), peak {b['peak_msg_per_s']:,} msg/s")
    print(f"{'load':>5} {'msg/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for lv in b["latency"]:
        print(f"{lv['share_of_peak']:>5.0%} {lv['sent_msg_per_s']:>8,} {lv['p50_ms']:>8} {lv['p95_ms']:>8} "
              f"{lv['p99_ms']:>8} {lv['max_ms']:>8}")


def print_memory(m: dict) -> None:
    r = m["worker_rss_mb"]
    print(f"(c) memory, one worker routing a backlog of {m['backlog']:,} ({m['msg_per_s']:,} msg/s): worker "
          f"RSS min {r['min']} MB, max {r['max']} MB, last {r['last']} MB (at 10%: {r['at_10_percent']} MB); "
          f"broker {m['broker_rss_mb_before_preload']} → {m['broker_rss_mb_last']} MB")


def print_report(results: dict) -> None:
    for b in results["brokers"].values():
        print(f"\n== {b['broker']} ({b['fresh']}; idempotent producers: {b['idempotent_producers']})")
        print_throughput(b, results)
        if b.get("latency"):
            print_latency(b, results)
        if b.get("memory"):
            print_memory(b["memory"])
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
        results = {**site.facts, **results}
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
               **ended(started), "brokers": brokers}
    if "kafka" in brokers and "tansu" in brokers:
        pairs = {(r["algorithm"], r["workers"]): r["msg_per_s"] for r in brokers["tansu"]["throughput"]}
        results["kafka_to_tansu"] = {f"{r['algorithm']} ×{r['workers']}": round(r["msg_per_s"] / pairs[key], 3)
                                     for r in brokers["kafka"]["throughput"]
                                     if (key := (r["algorithm"], r["workers"])) in pairs}
    write_results(args.out, results)
    print_report(results)
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    sys.exit(main())
