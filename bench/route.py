"""Router throughput on Apache Kafka and on tansu: raw aiokafka relay vs the hub end to end vs validation alone.

Run with `make bench`, i.e. `.venv/bin/python bench/route.py [--brokers kafka,tansu] [--messages N]
[--partitions P] [--profile]`.

For each broker of `--brokers` (default both, Apache Kafka first):

(a) relay    a consumer-group relay source → out (getmany, produce every record without awaiting each send,
             gather the acks, commit): the ceiling of aiokafka + that broker.
(b) hub      the real hub.bus.router.Router over `<prefix>.ingress` → `<prefix>.out.ndxp`, validation on; a
             separate process consumes the inbox so it does not share the router's core. Clock: first
             ingress batch handed to the router → Nth record consumed (CLOCK_MONOTONIC is system-wide on
             Linux). Four runs: `bare` (no signatures, no message log), `log` (the message log alone), then
             signed messages verified with an `hmac-sha256` and with an `ed25519` credential, message log on.

The ratios compare each (b) with (a) on the same broker. Producers are configured as the hub configures
them for that broker: idempotent on Apache Kafka (`enable_idempotence=True`, the hub's default there),
not on tansu. Apache Kafka (the version hub/brokers/pom.xml pins unless LGSP_KAFKA_VERSION says otherwise,
one KRaft node on a temporary folder, LGSP_KAFKA_HEAP_MB of heap) is started once and every measurement
takes a fresh topic prefix on it; tansu keeps everything in memory, so every tansu measurement gets a
fresh tansu. Each measurement also records the CPU time of the broker and of this process from its first
record on.

(c) validate hub.core.routing.route() in a loop on one core, its split by stage, signature checks, and
             jsonschema-rs vs fastjsonschema on the payload schema with the custom `x-*` keywords stripped.
             No broker involved: measured once, first, while no broker runs.

Both (a) and (b) start their clocks at the first record, not at start(): group joins on tansu take seconds.
Results go to bench/results/route.json; --profile writes a pyinstrument profile of the router side of the
Ed25519 run of (b) to bench/results/route-profile-<broker>.txt (a profiled run's (b) is slower).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from dossiers import RECEIVER, SENDER, Message, make_messages, register, signed
from inbox_readers import InboxProcess, count_inbox
from meters import CpuWindow, rate
from runs import RESULTS, ended, machine, stop_on_sigterm, write_results
from sites import BROKERS, CONSUMER, Place, Site, create_topics, parse_brokers, preload, started_producer
from validation import ALGORITHMS, validation

from hub.audit.message_log import MessageLog
from hub.bus.catalog import Catalog
from hub.bus.router import Router
from hub.core.credentials import issue
from hub.core.schemas.registry import SchemaRegistry, bundled_schemas_dir
from hub.settings import Settings
from hub.store import Store

TIMEOUT = 180.0  # seconds any one broker measurement may take
MODES = ("bare", "log", *ALGORITHMS)  # (b) neither signatures nor log; the log alone; both


# -- (a) raw relay ceiling ----------------------------------------------------------------------------------
async def relay_ceiling(place: Place, messages: list[Message], partitions: int, batch_max: int) -> dict:
    source, out, n = f"{place.topics.prefix}.relay.source", f"{place.topics.prefix}.relay.out", len(messages)
    await create_topics(place, [source, out], partitions)
    await preload(place, source, messages)
    consumer = AIOKafkaConsumer(source, bootstrap_servers=place.bootstrap, group_id=f"{place.topics.prefix}-relay",
                                **CONSUMER)
    producer = await started_producer(place)
    try:
        await consumer.start()
        relayed, first, last, cpu = 0, None, None, CpuWindow(place.broker_pid)
        try:
            while relayed < n:
                batches = await consumer.getmany(timeout_ms=200, max_records=batch_max)
                records = [record for part in batches.values() for record in part]
                if not records:
                    continue
                if first is None:
                    first = time.monotonic()
                    cpu.start()
                await asyncio.gather(*[await producer.send(out, r.value, key=r.key) for r in records])
                last = time.monotonic()
                await consumer.commit()
                relayed += len(records)
        finally:
            await consumer.stop()
    finally:
        await producer.stop()
    return {"relayed": relayed, **rate(relayed, last - first), "cpu": cpu.stop(relayed)}


# -- (b) the hub end to end ---------------------------------------------------------------------------------
class TimedRouter(Router):
    """The real router, noting when its first batch arrives (and starting the profiler then)."""

    first_batch_at: float | None = None
    last_batch_at: float | None = None
    profiler: Any = None
    cpu: CpuWindow | None = None

    async def _route_batch(self, records: list) -> None:
        if self.first_batch_at is None:
            self.first_batch_at = time.monotonic()
            if self.cpu:
                self.cpu.start()
            if self.profiler:
                self.profiler.start()
        await super()._route_batch(records)
        self.last_batch_at = time.monotonic()


async def hub_end_to_end(place: Place, messages: list[Message], partitions: int,
                         profile: Path | None, mode: str) -> dict:
    """The router on `messages`: `bare` without signatures or message log, else signed with `mode`."""
    n, topics = len(messages), place.topics
    inbox = topics.inbox(RECEIVER)
    credential = row = None
    if mode not in ("bare", "log"):
        credential, row = issue(SENDER, mode)
        messages = signed(messages, credential)
    await create_topics(place, [topics.ingress, topics.dlq, inbox], partitions)
    await preload(place, topics.ingress, messages)
    counter = InboxProcess(count_inbox, place.bootstrap, inbox, n, name="the inbox counter")
    try:
        await counter.start()
        with tempfile.TemporaryDirectory() as tmp:
            settings = place.settings(database_url=f"sqlite:///{tmp}/bench.db", partitions=partitions,
                                      require_signatures=credential is not None)
            store = Store(settings.database_url)
            try:
                register(store, row)
                catalog = Catalog(store, SchemaRegistry.from_dirs(bundled_schemas_dir()), settings.require_signatures)
                catalog.reload()
                message_log = message_log_for(store, settings, mode)
                router = await timed_router(place, catalog, settings, message_log, profile)
                last, cpu, catch_up = await route_until_counted(router, counter, message_log, n)
            finally:
                store.close()
    finally:
        counter.stop()
    if profile:
        write_profile(router.profiler, profile, place.kind)
    stats = router.stats
    return {"routed": stats.routed, "rejected": stats.rejected, "batches": stats.batches,
            "router_batch_max": settings.router_batch_max, **rate(n, last - router.first_batch_at),
            "router_side": rate(stats.routed, router.last_batch_at - router.first_batch_at), "cpu": cpu,
            "message_log": {"written": message_log.written if message_log else 0,
                            "catch_up_seconds": round(catch_up, 3)}}


def message_log_for(store: Store, settings: Settings, mode: str) -> MessageLog | None:
    """The message log of every mode but `bare`."""
    if mode == "bare":
        return None
    return MessageLog(store, "bench", payload_modes=settings.log_payload, retention_days=settings.log_retention_days)


async def timed_router(place: Place, catalog: Catalog, settings: Settings, message_log: MessageLog | None,
                       profile: Path | None) -> TimedRouter:
    """The hub's router over `catalog`, its message log started; not yet started itself."""
    if message_log:
        await message_log.start()
    router = TimedRouter(place.link, catalog, settings, message_log)
    router.cpu = CpuWindow(place.broker_pid)  # the router, its verification threads and the log's writer
    if profile:
        from pyinstrument import Profiler
        router.profiler = Profiler(async_mode="disabled")
    return router


async def route_until_counted(router: TimedRouter, counter: InboxProcess, message_log: MessageLog | None,
                              n: int) -> tuple[float, dict[str, float], float]:
    """Run the router until the counter saw n records: when it did, the CPU spent, and the seconds the
    message log still had to write when routing ended."""
    await router.start()
    running = asyncio.create_task(router.run())
    try:
        last = await counter.answer(TIMEOUT)
        cpu = router.cpu.stop(n)
    finally:
        if router.profiler and router.profiler.is_running:
            router.profiler.stop()
        await router.stop()
        await running
        routed_at = time.perf_counter()
        if message_log:
            await message_log.stop()
        catch_up = time.perf_counter() - routed_at
    return last, cpu, catch_up


def write_profile(profiler: Any, path: Path, kind: str) -> None:
    """The call tree with library frames shown (aiokafka's share is the point), pruned below 0.5 %."""
    from pyinstrument.renderers import ConsoleRenderer

    renderer = ConsoleRenderer(unicode=True, show_all=True, processor_options={"filter_threshold": 0.005})
    header = f"# router side of (b) on {kind}, Ed25519 + message log, first batch → Nth record consumed\n"
    path.write_text(header + renderer.render(profiler.last_session))


# -- report -------------------------------------------------------------------------------------------------
def print_table(results: dict) -> None:
    v = results["validation"]
    rows = []
    for kind, b in results["brokers"].items():
        rows.append((f"[{b['broker']}] (a) raw relay ceiling", b["relay"]))
        for mode in MODES:
            rows += [(f"[{kind}] (b) hub end to end, {mode}", b["hub"][mode]),
                     ("    router side only (first batch → last commit)", b["hub"][mode]["router_side"])]
    rows += [
        ("(c) route() one core, unsigned", v["route"]),
        *[(f"    route() with {algorithm} verification", v[f"route+{algorithm}"]) for algorithm in ALGORITHMS],
        ("    decode + Envelope.model_validate", v["split"]["decode+envelope"]),
        ("    schemas.validate (jsonschema-rs + x-* keywords)", v["split"]["schemas.validate"]),
        ("    resolve", v["split"]["resolve"]),
        ("    payload, x-* stripped: jsonschema-rs", v["payload_schema_without_custom_keywords"]["jsonschema_rs"]),
        ("    payload, x-* stripped: fastjsonschema", v["payload_schema_without_custom_keywords"]["fastjsonschema"]),
    ]
    print(f"\n{'measurement':<56} {'msg/s':>10} {'µs/msg':>8}")
    for name, r in rows:
        print(f"{name:<56} {r['msg_per_s']:>10,} {r['us_per_msg']:>8}")
    print()
    for kind, b in results["brokers"].items():
        for mode, ratios in b["ratios"].items():
            print(f"[{kind}] (b) {mode:<12} / (a) relay = {ratios['to_relay']:.2f}   "
                  f"/ (b) bare = {ratios['to_bare']:.2f}")
        for mode in MODES[1:]:
            log = b["hub"][mode]["message_log"]
            print(f"[{kind}] message log ({mode}): {log['written']:,} decisions written; "
                  f"{log['catch_up_seconds']} s still to write when routing ended")
    print("\nCPU µs per message from the first record on: broker / this process (router, its threads, the log)")
    for kind, b in results["brokers"].items():
        parts = [("relay", b["relay"]["cpu"])] + [(mode, b["hub"][mode]["cpu"]) for mode in MODES]
        print(f"[{kind}] " + ", ".join(f"{name} {c['broker_us_per_msg']:g} / {c['bench_process_us_per_msg']:g}"
                                     for name, c in parts))
    if "kafka_to_tansu" in results:
        print("Apache Kafka / tansu: " + ", ".join(f"{k} {r:.2f}" for k, r in results["kafka_to_tansu"].items()))
    print(f"{results['messages']:,} messages × {results['message_bytes']} B, {results['partitions']} partitions")


async def broker_measurements(kind: str, args: argparse.Namespace, messages: list[Message]) -> dict:
    async with Site(kind) as site:
        async with site.place("relay") as place:
            relay = await asyncio.wait_for(
                relay_ceiling(place, messages, args.partitions, Settings().router_batch_max), TIMEOUT)
        print(f"  [{kind}] relay: {relay['msg_per_s']:,} msg/s", flush=True)
        hub = {}
        for mode in MODES:
            profile = RESULTS / f"route-profile-{kind}.txt" if args.profile and mode == "ed25519" else None
            async with site.place(mode) as place:
                hub[mode] = await asyncio.wait_for(
                    hub_end_to_end(place, messages, args.partitions, profile, mode), TIMEOUT + 30)
            print(f"  [{kind}] hub {mode}: {hub[mode]['msg_per_s']:,} msg/s", flush=True)
    ratios = {mode: {"to_relay": round(hub[mode]["msg_per_s"] / relay["msg_per_s"], 3),
                     "to_bare": round(hub[mode]["msg_per_s"] / hub["bare"]["msg_per_s"], 3)} for mode in MODES}
    return {**site.facts, "relay": relay, "hub": hub, "ratios": ratios}


async def measure(args: argparse.Namespace, messages: list[Message]) -> dict:
    return {kind: await broker_measurements(kind, args, messages) for kind in args.brokers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", type=parse_brokers, default=list(BROKERS),
                        help="brokers to measure on, comma-separated (default: kafka,tansu)")
    parser.add_argument("--messages", type=int, default=100_000, help="messages per measurement")
    parser.add_argument("--partitions", type=int, default=6, help="partitions of the source/ingress topics")
    parser.add_argument("--profile", action="store_true", help="profile the router side of (b) with pyinstrument")
    parser.add_argument("--out", type=Path, default=RESULTS / "route.json", help="where the results go")
    args = parser.parse_args()
    stop_on_sigterm()
    RESULTS.mkdir(exist_ok=True)

    facts = machine()
    started = datetime.now(timezone.utc)
    messages = make_messages(args.messages)
    validated = validation(messages)  # first, while no broker is running and the machine is quiet
    brokers = asyncio.run(measure(args, messages))
    results = {
        "timestamp": started.isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python", *sys.argv]),
        "machine": facts,
        "messages": args.messages, "partitions": args.partitions, "message_bytes": len(messages[0][1]),
        "profiled": args.profile,  # the profiler slows the router: (b) of a --profile run is not comparable
        **ended(started), "brokers": brokers, "validation": validated,
    }
    if "kafka" in brokers and "tansu" in brokers:
        k, t = brokers["kafka"], brokers["tansu"]
        results["kafka_to_tansu"] = {"relay": round(k["relay"]["msg_per_s"] / t["relay"]["msg_per_s"], 3),
                                     **{mode: round(k["hub"][mode]["msg_per_s"] / t["hub"][mode]["msg_per_s"], 3)
                                        for mode in MODES}}
    write_results(args.out, results)
    print_table(results)
    print(f"\nwritten to {args.out}")
    if args.profile:
        print("profiles: " + ", ".join(str(RESULTS / f"route-profile-{k}.txt") for k in args.brokers))


if __name__ == "__main__":
    sys.exit(main())
