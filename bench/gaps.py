"""Offset-gap probe: does a live reader of a partition see every offset while several producers write to it?

Run with `.venv/bin/python bench/gaps.py [--brokers kafka,tansu] [--rounds R] [--producers P] [--messages M]`
(the defaults, 10 rounds of 4 × 25,000 records per broker, take about 5 min on two cores).

For each broker of `--brokers` and each of `--rounds` rounds, on a fresh topic of one partition (Apache Kafka:
one broker for the run, a fresh topic per round; tansu: a fresh tansu per round):

- `--burners` busy-loop processes (default one per core) load the CPU to widen any race in the broker;
- two live readers, each a process of its own with an aiokafka consumer without a group, assigned to
  partition 0 and reading from offset 0 while the producers run (`fetch_max_wait_ms` 10, so they fetch at the
  head of the log again and again):
    naive    counts a gap whenever a fetched record's offset is greater than the next expected offset, and
             the offsets skipped; it moves on past them, as a consumer that trusts its fetches does;
    guarded  passes every fetch through hub.bus.gaps.GapGuard (as the router, the DLQ tail, the tap and
             the connector SDK do): records are handed on only while offsets follow on, at a gap the
             partition is sought back and read again, up to `--retries` times, then the gap is accepted;
- `--producers` producer processes (aiokafka, configured as the hub's: acks=all, idempotent on Apache Kafka,
  `--linger-ms` 0 by default for many small batches) each send `--messages` records to partition 0 as fast
  as they can, all starting together;
- once all is read, a fresh consumer re-reads the partition from offset 0 to its end, to tell whether the
  offsets the naive reader skipped exist (skipped by a live fetch, not lost) and whether every record sent is
  there exactly once.

Results go to bench/results/gaps.json.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from runs import RESULTS, ended, machine, stop_on_sigterm, write_results
from sites import BROKERS, Place, Site, create_topics, parse_brokers, producer_config

from hub.bus.gaps import GapGuard

ROOT = Path(__file__).resolve().parent.parent
READER = dict(enable_auto_commit=False, auto_offset_reset="earliest", fetch_max_wait_ms=10,
              max_partition_fetch_bytes=1 << 20)
SAMPLE = 20  # gaps listed in full per reader


# -- child processes ----------------------------------------------------------------------------------------
def burn(stop: Any) -> None:
    """A busy loop until `stop` is set: one core's worth of competition for everything else."""
    x = 0
    while not stop.is_set():
        for i in range(200_000):
            x = (x * 31 + i) & 0xFFFFFFFF


def produce(client: dict, topic: str, kind: str, index: int, count: int, value_bytes: int, linger_ms: int,
            ready: Any, go: Any, done: Any) -> None:
    """Send `count` records `<index>:<seq>` (padded to value_bytes) to partition 0 once `go` is set."""
    async def run() -> dict:
        producer = AIOKafkaProducer(**client,
                                    **{**producer_config(kind), "linger_ms": linger_ms})
        await producer.start()
        try:
            await producer.partitions_for(topic)
            ready.set()
            await asyncio.to_thread(go.wait)
            start, acks = time.monotonic(), []
            for seq in range(count):
                value = f"{index}:{seq}:".encode().ljust(value_bytes, b".")
                acks.append(await producer.send(topic, value, partition=0))
                if len(acks) >= 200:  # keep the memory bounded; many batches stay in flight
                    await asyncio.gather(*acks)
                    acks = []
            await asyncio.gather(*acks)
            return {"producer": index, "sent": count, "seconds": round(time.monotonic() - start, 3)}
        finally:
            await producer.stop()
    done.put(asyncio.run(run()))


def read_live(client: dict, topic: str, total: int, guarded: bool, options: dict, ready: Any, produced: Any,
              done: Any) -> None:
    """A live reader of partition 0 from offset 0 until offset `total` - 1 went by (or `grace` seconds after
    the producers finished); naive, or through a GapGuard. `inject_skips`: a control, the reader drops the
    second record of a fetch that many times (every fifth fetch), as a fetch that skipped it would."""
    async def run() -> dict:
        tp = TopicPartition(topic, 0)
        grace, retries, inject = options["grace"], options["retries"], options["inject_skips"]
        consumer = AIOKafkaConsumer(**client, group_id=None, **{
            **READER, "fetch_max_wait_ms": options["fetch_max_wait_ms"],
            "max_partition_fetch_bytes": options["fetch_bytes"]})
        await consumer.start()
        seeks = 0

        def seek(partition: TopicPartition, offset: int) -> None:
            nonlocal seeks
            seeks += 1
            consumer.seek(partition, offset)

        try:
            consumer.assign([tp])
            consumer.seek(tp, 0)
            guard = GapGuard("gap-probe", seek, retries=retries) if guarded else None
            if guard:
                guard.expect(tp, 0)
            expected, gaps, missing, rewinds, read, fetches, injected, sample = 0, 0, 0, 0, 0, 0, 0, []
            skipped: list[tuple[int, int]] = []  # [first, last] offsets skipped, for the re-read
            ready.set()
            start, finished_at = time.monotonic(), None
            while expected < total:
                if finished_at is None and produced.is_set():
                    finished_at = time.monotonic()
                if finished_at is not None and time.monotonic() - finished_at > grace:
                    break
                batches = await consumer.getmany(tp, timeout_ms=100, max_records=10_000)
                if not batches:
                    continue
                fetches += 1
                if injected < inject and fetches % 5 == 0 and len(batches.get(tp, ())) >= 3:
                    del batches[tp][1]  # the control: as if the fetch had not returned this record
                    injected += 1
                if guard:
                    batches = guard.check(batches)
                for record in batches.get(tp, []):
                    read += 1
                    if record.offset > expected:
                        gaps += 1
                        missing += record.offset - expected
                        skipped.append((expected, record.offset - 1))
                        if len(sample) < SAMPLE:
                            sample.append({"expected": expected, "got": record.offset,
                                           "at_s": round(time.monotonic() - start, 3)})
                    elif record.offset < expected:
                        rewinds += 1  # read again: a naive reader would hand it on twice
                        continue
                    expected = record.offset + 1
            out = {"reader": "guarded" if guarded else "naive", "records_read": read, "fetches": fetches,
                   "reached_offset": expected, "complete": expected >= total,
                   "gaps": gaps, "missing_offsets": missing, "records_read_again": rewinds,
                   "first_gaps": sample, "injected_skips": injected, "skipped": skipped[:10_000],
                   "seconds": round(time.monotonic() - start, 3)}
            if guard:
                out.update({"recovered": guard.recovered, "accepted_missing_offsets": guard.accepted,
                            "seeks": seeks})
            return out
        finally:
            await consumer.stop()
    done.put(asyncio.run(run()))


# -- one round ----------------------------------------------------------------------------------------------
async def reread(place: Place, topic: str, total: int, timeout: float) -> dict:
    """The partition from offset 0 once nothing writes to it any more: which offsets exist, and what they hold."""
    tp = TopicPartition(topic, 0)
    consumer = AIOKafkaConsumer(**place.client, group_id=None, **READER)
    await consumer.start()
    present = bytearray(total)
    values: dict[int, set[int]] = {}
    extra = gaps = 0
    try:
        consumer.assign([tp])
        consumer.seek(tp, 0)
        expected, deadline = 0, time.monotonic() + timeout
        while expected < total and time.monotonic() < deadline:
            batches = await consumer.getmany(tp, timeout_ms=500, max_records=10_000)
            for record in batches.get(tp, []):
                if record.offset > expected:
                    gaps += 1
                if record.offset < total:
                    present[record.offset] = 1
                else:
                    extra += 1
                index, seq, _ = record.value.split(b":", 2)
                values.setdefault(int(index), set()).add(int(seq))
                expected = max(expected, record.offset + 1)
    finally:
        await consumer.stop()
    return {"present": sum(present), "absent": total - sum(present), "beyond_expected_end": extra,
            "gaps_in_reread": gaps, "present_map": present, "distinct_per_producer": values}


async def wait_all(processes: list[Any], queue: Any, timeout: float) -> list[dict]:
    results = []
    deadline = time.monotonic() + timeout
    for _ in processes:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("a child process did not report in time")
        results.append(await asyncio.to_thread(queue.get, True, remaining))
    return results


async def one_round(site: Site, args: argparse.Namespace, number: int) -> dict:
    total = args.producers * args.messages
    ctx = mp.get_context("spawn")
    async with site.place(f"gaps{number}") as place:
        topic = f"{place.topics.prefix}.gaps"
        await create_topics(place, [topic], 1)
        stop, go, produced = ctx.Event(), ctx.Event(), ctx.Event()
        children: list[Any] = []
        try:
            burners = [ctx.Process(target=burn, args=(stop,), daemon=True) for _ in range(args.burners)]
            reader_done, producer_done = ctx.Queue(), ctx.Queue()
            readers, reader_ready = [], []
            options = {k: getattr(args, k) for k in ("grace", "retries", "inject_skips", "fetch_max_wait_ms",
                                                     "fetch_bytes")}
            for guarded in (False, True):
                ready = ctx.Event()
                reader_ready.append(ready)
                readers.append(ctx.Process(target=read_live, daemon=True, args=(
                    place.client, topic, total, guarded, options, ready, produced, reader_done)))
            producers, producer_ready = [], []
            for index in range(args.producers):
                ready = ctx.Event()
                producer_ready.append(ready)
                producers.append(ctx.Process(target=produce, daemon=True, args=(
                    place.client, topic, place.kind, index, args.messages, args.value_bytes, args.linger_ms,
                    ready, go, producer_done)))
            children = burners + readers + producers
            for child in children:
                child.start()
            for ready in reader_ready + producer_ready:
                if not await asyncio.to_thread(ready.wait, 60):
                    raise TimeoutError("a reader or producer did not start")
            load_start = os.getloadavg()[0]
            started = time.monotonic()
            go.set()
            sent = await wait_all(producers, producer_done, args.timeout)
            produce_seconds = time.monotonic() - started
            produced.set()
            read = {r["reader"]: r for r in await wait_all(readers, reader_done, args.timeout + args.grace)}
            stop.set()
            load_end = os.getloadavg()[0]
        finally:
            stop.set()
            go.set()
            for child in children:
                child.join(5 if child in children[:args.burners] else 10)
                if child.is_alive():
                    child.kill()
                    child.join()
        check = await reread(place, topic, total, args.timeout)
    present = check.pop("present_map")
    per_producer = check.pop("distinct_per_producer")
    naive, guarded = read["naive"], read["guarded"]
    for reader in (naive, guarded):
        skipped = reader.pop("skipped")
        offsets = [o for first, last in skipped for o in range(first, min(last, total - 1) + 1)]
        reader["skipped_offsets_that_exist"] = sum(present[o] for o in offsets)
        reader["skipped_offsets_absent"] = len(offsets) - reader["skipped_offsets_that_exist"]
    check["every_record_once"] = (check["present"] == total and check["beyond_expected_end"] == 0 and
                                  all(len(per_producer.get(i, ())) == args.messages for i in range(args.producers)))
    return {"round": number, "messages": total, "produce_seconds": round(produce_seconds, 3),
            "msg_per_s": round(total / produce_seconds), "producers": sent,
            "load_average_1min": [round(load_start, 2), round(load_end, 2)],
            "naive": naive, "guarded": guarded, "reread": check}


async def on_broker(kind: str, args: argparse.Namespace) -> dict:
    rounds = []
    async with Site(kind) as site:
        for number in range(1, args.rounds + 1):
            r = await one_round(site, args, number)
            rounds.append(r)
            n, g, c = r["naive"], r["guarded"], r["reread"]
            print(f"  [{kind}] round {number}: {r['messages']:,} records in {r['produce_seconds']} s; naive reader "
                  f"{n['gaps']} gaps ({n['missing_offsets']} offsets, {n['skipped_offsets_that_exist']} of them there "
                  f"on re-read); guarded: {g['recovered']} recovered, {g['accepted_missing_offsets']} accepted, "
                  f"{g['gaps']} gaps handed on; re-read: {c['present']:,}/{r['messages']:,} present, "
                  f"every record once: {c['every_record_once']}", flush=True)
        name, version = site.name, site.version
    def total(reader: str, key: str) -> int:
        return sum(r[reader][key] for r in rounds)
    return {"broker": name, "version": version, "idempotent_producers": producer_config(kind)["enable_idempotence"],
            "fresh": "one broker, a fresh topic per round" if kind == "kafka" else "a fresh broker per round",
            "summary": {
                "rounds": len(rounds), "messages": sum(r["messages"] for r in rounds),
                "rounds_with_naive_gaps": sum(1 for r in rounds if r["naive"]["gaps"]),
                "naive_gaps": total("naive", "gaps"), "naive_missing_offsets": total("naive", "missing_offsets"),
                "naive_skipped_offsets_that_exist": total("naive", "skipped_offsets_that_exist"),
                "naive_records_read_again": total("naive", "records_read_again"),
                "guarded_recovered": total("guarded", "recovered"),
                "guarded_accepted_missing_offsets": total("guarded", "accepted_missing_offsets"),
                "guarded_gaps_handed_on": total("guarded", "gaps"), "guarded_seeks": total("guarded", "seeks"),
                "readers_complete": all(r[x]["complete"] for r in rounds for x in ("naive", "guarded")),
                "reread_every_record_once": all(r["reread"]["every_record_once"] for r in rounds),
            },
            "rounds": rounds}


async def measure(args: argparse.Namespace) -> dict:
    return {kind: await on_broker(kind, args) for kind in args.brokers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", type=parse_brokers, default=list(BROKERS),
                        help="brokers to probe, comma-separated (default: kafka,tansu)")
    parser.add_argument("--rounds", type=int, default=10, help="rounds per broker, each on a fresh topic")
    parser.add_argument("--producers", type=int, default=4, help="producer processes writing to the one partition")
    parser.add_argument("--messages", type=int, default=25_000, help="records per producer and round")
    parser.add_argument("--value-bytes", type=int, default=100, help="size of each record's value")
    parser.add_argument("--linger-ms", type=int, default=0, help="producers' linger_ms (0: many small batches)")
    parser.add_argument("--burners", type=int, default=os.cpu_count() or 1, help="busy-loop processes (CPU load)")
    parser.add_argument("--retries", type=int, default=5, help="GapGuard's re-reads of a gap before accepting it")
    parser.add_argument("--grace", type=float, default=30.0,
                        help="seconds a reader goes on after the producers finished before it gives up")
    parser.add_argument("--fetch-max-wait-ms", type=int, default=10, help="the live readers' fetch_max_wait_ms")
    parser.add_argument("--fetch-bytes", type=int, default=1 << 20,
                        help="the live readers' max_partition_fetch_bytes")
    parser.add_argument("--inject-skips", type=int, default=0,
                        help="control: each live reader drops one fetched record itself this many times a round")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds the producers may take")
    parser.add_argument("--out", type=Path, default=RESULTS / "gaps.json", help="where the results go")
    args = parser.parse_args()
    stop_on_sigterm()

    started = datetime.now(timezone.utc)
    facts = machine()
    brokers = asyncio.run(measure(args))
    results = {"timestamp": started.isoformat(timespec="seconds"),
               "command": shlex.join([os.path.relpath(sys.executable, ROOT), *sys.argv]), "machine": facts,
               "settings": {k: v for k, v in vars(args).items() if k not in ("out", "brokers")},
               **ended(started), "brokers": brokers}
    write_results(args.out, results)
    print(f"\n{'broker':<22} {'rounds':>6} {'records':>9} {'rounds w/ gaps':>14} {'naive gaps':>10} "
          f"{'offsets':>8} {'exist':>6} {'recovered':>9} {'accepted':>8} {'all there':>9}")
    for b in brokers.values():
        s = b["summary"]
        print(f"{b['broker']:<22} {s['rounds']:>6} {s['messages']:>9,} {s['rounds_with_naive_gaps']:>14} "
              f"{s['naive_gaps']:>10} {s['naive_missing_offsets']:>8} {s['naive_skipped_offsets_that_exist']:>6} "
              f"{s['guarded_recovered']:>9} {s['guarded_accepted_missing_offsets']:>8} "
              f"{s['reread_every_record_once']!s:>9}")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    sys.exit(main())
