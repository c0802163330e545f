"""Router throughput on Apache Kafka and on tansu: raw aiokafka relay vs the hub end to end vs validation alone.

Run with `make bench`, i.e. `.venv/bin/python bench/route.py [--brokers kafka,tansu] [--messages N]
[--partitions P] [--profile] [--without-sasl] [--replay-window both] [--projection both]`.

Apache Kafka runs as the hub runs it: SASL/SCRAM-SHA-512 with ACLs, every client logged in as its admin.
`--without-sasl` measures it again, right after, on a broker without authentication or authorizer, and
writes the ratio of each run to the same run without (`sasl_cost`).

For each broker of `--brokers` (default both, Apache Kafka first):

(a) relay    a consumer-group relay source → out (getmany, produce every record without awaiting each send,
             gather the acks, commit): the ceiling of aiokafka + that broker.
(b) hub      the real hub.bus.router.Router over `<prefix>.ingress` → `<prefix>.out.ndxp`, validation on; a
             separate process consumes the inbox so it does not share the router's core. Clock: first
             ingress batch handed to the router → Nth record consumed (CLOCK_MONOTONIC is system-wide on
             Linux). Runs: `bare` (no signatures, no decision records), `log` (decision records for the message
             log, as the hub runs), on Apache Kafka `log, at-least-once` (the same without transactions), then
             signed messages verified with an `hmac-sha256` and with an `ed25519` credential, log on. On Apache
             Kafka every run but `log, at-least-once` routes exactly-once, in transactions, as the hub does.
             Signed runs refuse replays as the hub does (hub.core.replays); `--replay-window both` adds each
             signed run again without the window (`<algorithm>, no replay window`), to measure what it costs.
             `--projection both` routes `bare`, `log` and `ed25519` again right after each, under a data-sharing
             agreement governing the receiver (`<run>, projected`): every delivery projected to 4 of the
             payload's fields and signed with the hub's Ed25519 key (`projection_cost`: projected ÷ unprojected).

The ratios compare each (b) with (a) on the same broker. Producers are configured as the hub configures
them for that broker: idempotent on Apache Kafka (`enable_idempotence=True`, the hub's default there),
not on tansu. Apache Kafka (the version hub/brokers/pom.xml pins unless LGSP_KAFKA_VERSION says otherwise,
one KRaft node on a temporary folder, LGSP_KAFKA_HEAP_MB of heap) is started once and every measurement
takes a fresh topic prefix on it; tansu keeps everything in memory, so every tansu measurement gets a
fresh tansu. Each measurement also records the CPU time of the broker and of this process from its first
record on.

(c) validate hub.core.routing.route() in a loop on one core, its split by stage, signature checks, and
             jsonschema-rs vs fastjsonschema on the payload schema with the custom `x-*` keywords stripped;
             with `--projection both` also projected() + HubKey.headers() per message, by part.
             No broker involved: measured once, first, while no broker runs.

Both (a) and (b) start their clocks at the first record, not at start(): group joins on tansu take seconds.
Results go to bench/results/route.json; --profile writes a pyinstrument profile of the router side of the
Ed25519 run of (b) to bench/results/route-profile-<broker>.txt, and of its projected twin to
route-profile-<broker>-projected.txt (a profiled run's (b) is slower).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from dossiers import RECEIVER, SENDER, Message, make_messages, register, signed
from inbox_readers import InboxProcess, count_inbox
from meters import CpuWindow, rate
from runs import RESULTS, ended, machine, stop_on_sigterm, write_results
from sites import BROKERS, CONSUMER, Place, Site, create_topics, parse_brokers, preload, started_producer
from validation import ALGORITHMS, projection, validation

from hub.bus.catalog import Catalog
from hub.bus.log_indexer import LogIndexer
from hub.bus.router import Router
from hub.core.credentials import issue
from hub.core.schemas.registry import SchemaRegistry, bundled_schemas_dir
from hub.settings import Settings
from hub.store import Store

TIMEOUT = 180.0  # seconds any one broker measurement may take
WITHOUT_SASL = "kafka-without-sasl"
CORES = len(os.sched_getaffinity(0))

@dataclass(frozen=True)
class Mode:
    """One run of (b): signed with `algorithm` or not, decision records or not, the broker's delivery or
    at-least-once."""

    name: str
    algorithm: str | None = None
    log: bool = True
    at_least_once: bool = False
    replays: bool = True  # the replay window (signed runs only: unsigned messages are not screened)
    projected: bool = False  # under dossiers.AGREEMENT: each delivery projected and signed by the hub

    @property
    def label(self) -> str:  # a topic prefix's part
        return self.name.replace(", ", "-").replace(" ", "-")

    def runs_on(self, kind: str) -> bool:
        return not self.at_least_once or kind == "kafka"  # tansu is at-least-once anyway


MODES = (Mode("bare", log=False), Mode("log"), Mode("log, at-least-once", at_least_once=True),
         *(Mode(algorithm, algorithm) for algorithm in ALGORITHMS))
UNSCREENED = tuple(Mode(f"{algorithm}, no replay window", algorithm, replays=False) for algorithm in ALGORITHMS)
PROJECTED = ("bare", "log", "ed25519")  # the runs --projection both repeats under the agreement


def with_projected(modes: tuple[Mode, ...]) -> list[Mode]:
    """Each mode of PROJECTED followed by its projected twin: the two share a moment of a shared machine."""
    out = []
    for mode in modes:
        out.append(mode)
        if mode.name in PROJECTED:
            out.append(dataclasses.replace(mode, name=f"{mode.name}, projected", projected=True))
    return out


# -- (a) raw relay ceiling ----------------------------------------------------------------------------------
async def relay_ceiling(place: Place, messages: list[Message], partitions: int, batch_max: int) -> dict:
    source, out, n = f"{place.topics.prefix}.relay.source", f"{place.topics.prefix}.relay.out", len(messages)
    await create_topics(place, [source, out], partitions)
    await preload(place, source, messages)
    consumer = AIOKafkaConsumer(source, **place.client, group_id=f"{place.topics.prefix}-relay",
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
                         profile: Path | None, mode: Mode) -> dict:
    """The router on `messages`, as `mode` says."""
    n, topics = len(messages), place.topics
    inbox = topics.inbox(RECEIVER)
    credential = row = None
    if mode.algorithm:
        credential, row = issue(SENDER, mode.algorithm)
        messages = signed(messages, credential)
    await create_topics(place, [topics.ingress, topics.dlq, inbox], partitions)
    await preload(place, topics.ingress, messages)
    counter = InboxProcess(count_inbox, place.client, inbox, n, name="the inbox counter")
    try:
        await counter.start()
        with tempfile.TemporaryDirectory() as tmp:
            settings = place.settings(database_url=f"sqlite:///{tmp}/bench.db", partitions=partitions,
                                      require_signatures=credential is not None,
                                      **({"delivery": "at-least-once"} if mode.at_least_once else {}))
            store = Store(settings.database_url)
            try:
                register(store, row, agreed=mode.projected)
                catalog = Catalog(store, SchemaRegistry.from_dirs(bundled_schemas_dir()), settings.require_signatures)
                catalog.reload()
                assert bool(catalog.directory.agreements.governing) == mode.projected  # measures what it says
                router = timed_router(place, catalog, settings, mode, profile)
                last, cpu = await route_until_counted(router, counter, n)
                indexed = await index_decisions(router._link, store, settings, n) if mode.name == "log" else None
            finally:
                store.close()
    finally:
        counter.stop()
    if profile:
        write_profile(router.profiler, profile, place.kind, mode.projected)
    stats = router.stats
    return {"routed": stats.routed, "rejected": stats.rejected, "batches": stats.batches,
            "delivery": router.delivery, "decision_records": mode.log,
            "router_batch_max": settings.router_batch_max, **rate(n, last - router.first_batch_at),
            "router_side": rate(stats.routed, router.last_batch_at - router.first_batch_at), "cpu": cpu,
            **({"log_indexer": indexed} if indexed else {})}


async def index_decisions(link, store: Store, settings: Settings, n: int) -> dict:
    """The log indexer alone over the `n` decision records the router published: decisions stored per second,
    after its first batch is stored → last stored (its own process in a deployment with router workers)."""
    indexer = LogIndexer(link, store, settings)
    await indexer.start()
    running = asyncio.create_task(indexer.run())
    try:
        while indexer.indexed == 0:
            await asyncio.sleep(0.01)
        first, already = time.monotonic(), indexer.indexed
        while indexer.indexed < n:
            await asyncio.sleep(0.01)
        return rate(n - already, time.monotonic() - first)
    finally:
        await indexer.stop()
        await running


def timed_router(place: Place, catalog: Catalog, settings: Settings, mode: Mode, profile: Path | None) -> TimedRouter:
    """The hub's router over `catalog`, as `mode` says; not yet started."""
    link = dataclasses.replace(place.link, transactions=settings.transactions)
    router = TimedRouter(link, catalog, settings, log_decisions=mode.log, replay_window=mode.replays)
    router.cpu = CpuWindow(place.broker_pid)  # the router and its verification threads
    if profile:
        from pyinstrument import Profiler
        router.profiler = Profiler(async_mode="disabled")
    return router


async def route_until_counted(router: TimedRouter, counter: InboxProcess, n: int) -> tuple[float, dict[str, float]]:
    """Run the router until the counter saw n records: when it did, and the CPU spent."""
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
    return last, cpu


def write_profile(profiler: Any, path: Path, kind: str, projected: bool) -> None:
    """The call tree with library frames shown (aiokafka's share is the point), pruned below 0.5 %."""
    from pyinstrument.renderers import ConsoleRenderer

    renderer = ConsoleRenderer(unicode=True, show_all=True, processor_options={"filter_threshold": 0.005})
    under = ", projected under an agreement" if projected else ""
    header = f"# router side of (b) on {kind}, Ed25519 + decision records{under}, first batch → Nth record consumed\n"
    path.write_text(header + renderer.render(profiler.last_session))


# -- report -------------------------------------------------------------------------------------------------
GOALS = {  # name: (numerator, denominator, goal), each a path into one broker's results
    "log / bare": (("hub", "log"), ("hub", "bare"), 0.9),
    "exactly-once / at-least-once": (("hub", "log"), ("hub", "log, at-least-once"), 0.85),
    "hmac-sha256 with log / relay": (("hub", "hmac-sha256"), ("relay",), 0.5),
    "ed25519 with log / verification ceiling": (("hub", "ed25519"), ("ed25519_ceiling",), 0.8),
}


def goals(broker: dict) -> dict:
    """Each goal's ratio in this run, where both sides were measured."""
    def value(path: tuple[str, ...]) -> float | None:
        node = broker
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        return node["msg_per_s"] if node else None

    reached = {}
    for name, (top, bottom, goal) in GOALS.items():
        if value(top) and value(bottom):
            ratio = round(value(top) / value(bottom), 3)
            reached[name] = {"ratio": ratio, "goal": goal, "met": ratio >= goal}
    return reached


def print_table(results: dict) -> None:
    v = results["validation"]
    rows = []
    for kind, b in results["brokers"].items():
        rows.append((f"[{b['broker']}] (a) raw relay ceiling", b["relay"]))
        for name, run in b["hub"].items():
            rows += [(f"[{kind}] (b) hub end to end, {name}", run),
                     ("    router side only (first batch → last commit)", run["router_side"])]
        if "log_indexer" in b["hub"]["log"]:
            rows.append((f"[{kind}] log indexer alone (decision records → store)", b["hub"]["log"]["log_indexer"]))
        rows.append((f"[{kind}] Ed25519 verification ceiling ({results['machine']['cores']} cores)", b["ed25519_ceiling"]))
    rows += [
        ("(c) route() one core, unsigned", v["route"]),
        *[(f"    route() with {algorithm} verification", v[f"route+{algorithm}"]) for algorithm in ALGORITHMS],
        *[(f"    {algorithm} verification alone", v[f"verify {algorithm}"]) for algorithm in ALGORITHMS],
        ("    decode + Envelope.model_validate", v["split"]["decode+envelope"]),
        ("    schemas.validate (jsonschema-rs + x-* keywords)", v["split"]["schemas.validate"]),
        ("    resolve", v["split"]["resolve"]),
        ("    payload, x-* stripped: jsonschema-rs", v["payload_schema_without_custom_keywords"]["jsonschema_rs"]),
        ("    payload, x-* stripped: fastjsonschema", v["payload_schema_without_custom_keywords"]["fastjsonschema"]),
    ]
    print(f"\n{'measurement':<60} {'msg/s':>10} {'µs/msg':>8}")
    for name, r in rows:
        print(f"{name:<60} {r['msg_per_s']:>10,} {r['us_per_msg']:>8}")
    print()
    for kind, b in results["brokers"].items():
        for name, ratios in b["ratios"].items():
            print(f"[{kind}] (b) {name:<20} / (a) relay = {ratios['to_relay']:.2f}   / (b) bare = {ratios['to_bare']:.2f}")
        for name, goal in b["goals"].items():
            print(f"[{kind}] goal {name}: {goal['ratio']:.2f} (goal {goal['goal']}: {'met' if goal['met'] else 'NOT met'})")
    print("\nCPU µs per message from the first record on: broker / this process (the router and its threads)")
    for kind, b in results["brokers"].items():
        parts = [("relay", b["relay"]["cpu"])] + [(name, run["cpu"]) for name, run in b["hub"].items()]
        print(f"[{kind}] " + ", ".join(f"{name} {c['broker_us_per_msg']:g} / {c['bench_process_us_per_msg']:g}"
                                     for name, c in parts))
    for kind, b in results["brokers"].items():
        for name, cost in b.get("projection_cost", {}).items():
            before, after = cost["router_us_per_msg"]
            print(f"[{kind}] {name}, projected / unprojected = {cost['ratio']:.2f}   "
                  f"router µs/msg {before:g} → {after:g}")
    if "projection" in v:
        p = v["projection"]
        print(f"one delivery under the agreement ({p['bytes']['original']} → {p['bytes']['projected']} B), µs: "
              f"projected() + HubKey.headers() {p['projected+headers']['us_per_msg']:g} = projected() "
              f"{p['projected']['us_per_msg']:g} + headers {p['hub_key.headers']['us_per_msg']:g}; "
              + ", ".join(f"{part} {r['us_per_msg']:g}" for part, r in p["split"].items()))
    if "sasl_cost" in results:
        print("Apache Kafka with SASL and ACLs / without: " + ", ".join(
            f"{k} {r:.2f}" for k, r in results["sasl_cost"].items()))
    if "kafka_to_tansu" in results:
        print("Apache Kafka / tansu: " + ", ".join(f"{k} {r:.2f}" for k, r in results["kafka_to_tansu"].items()))
    print(f"{results['messages']:,} messages × {results['message_bytes']} B, {results['partitions']} partitions")


async def broker_measurements(kind: str, args: argparse.Namespace, messages: list[Message], validated: dict,
                              authenticate: bool = True) -> dict:
    async with Site(kind, authenticate) as site:
        async with site.place("relay") as place:
            relay = await asyncio.wait_for(
                relay_ceiling(place, messages, args.partitions, Settings().router_batch_max), TIMEOUT)
        print(f"  [{kind}] relay: {relay['msg_per_s']:,} msg/s", flush=True)
        hub = {}
        modes = (*MODES, *(UNSCREENED if args.replay_window == "both" else ()))
        if args.projection == "both":
            modes = with_projected(modes)
        for mode in (m for m in modes if m.runs_on(kind)):
            profile = None
            if args.profile and mode.algorithm == "ed25519" and mode.replays:
                profile = RESULTS / f"route-profile-{kind}{'-projected' if mode.projected else ''}.txt"
            async with site.place(mode.label) as place:
                hub[mode.name] = await asyncio.wait_for(
                    hub_end_to_end(place, messages, args.partitions, profile, mode), TIMEOUT + 30)
            print(f"  [{kind}] hub {mode.name}: {hub[mode.name]['msg_per_s']:,} msg/s", flush=True)
    ratios = {name: {"to_relay": round(run["msg_per_s"] / relay["msg_per_s"], 3),
                     "to_bare": round(run["msg_per_s"] / hub["bare"]["msg_per_s"], 3)} for name, run in hub.items()}
    verify = validated["verify ed25519"]["msg_per_s"]
    results = {**site.facts, "relay": relay, "hub": hub, "ratios": ratios,
               "ed25519_ceiling": rate(int(verify * CORES), 1.0)}  # cores ÷ the verify cost, as a rate
    if args.projection == "both":
        results["projection_cost"] = projection_cost(hub)
    return {**results, "goals": goals(results)}


async def measure(args: argparse.Namespace, messages: list[Message], validated: dict) -> dict:
    brokers = {}
    for kind in args.brokers:
        brokers[kind] = await broker_measurements(kind, args, messages, validated)
        if kind == "kafka" and args.without_sasl:  # right after, so both see the same machine
            brokers[WITHOUT_SASL] = await broker_measurements(kind, args, messages, validated, authenticate=False)
    return brokers


def projection_cost(hub: dict) -> dict:
    """Each projected run over its twin without agreements (below 1, what projecting and re-signing cost), and
    the router process's CPU µs per message in both."""
    cost = {}
    for name in PROJECTED:
        before, after = hub[name], hub[f"{name}, projected"]
        cost[name] = {"ratio": round(after["msg_per_s"] / before["msg_per_s"], 3),
                      "router_us_per_msg": [run["cpu"]["bench_process_us_per_msg"] for run in (before, after)]}
    return cost


def sasl_cost(brokers: dict) -> dict:
    """Each run's throughput with SASL and ACLs over the same run without: below 1, what they cost."""
    with_, without = brokers["kafka"], brokers[WITHOUT_SASL]
    return {"relay": round(with_["relay"]["msg_per_s"] / without["relay"]["msg_per_s"], 3),
            **{name: round(run["msg_per_s"] / without["hub"][name]["msg_per_s"], 3)
               for name, run in with_["hub"].items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", type=parse_brokers, default=list(BROKERS),
                        help="brokers to measure on, comma-separated (default: kafka,tansu)")
    parser.add_argument("--messages", type=int, default=100_000, help="messages per measurement")
    parser.add_argument("--partitions", type=int, default=6, help="partitions of the source/ingress topics")
    parser.add_argument("--profile", action="store_true", help="profile the router side of (b) with pyinstrument")
    parser.add_argument("--out", type=Path, default=RESULTS / "route.json", help="where the results go")
    parser.add_argument("--without-sasl", action="store_true",
                        help="measure Apache Kafka a second time without SASL and ACLs, for what they cost")
    parser.add_argument("--replay-window", choices=("on", "both"), default="on",
                        help="'both' also routes each signed run without the replay window")
    parser.add_argument("--projection", choices=("off", "both"), default="off",
                        help="'both' also routes bare, log and ed25519 under a data-sharing agreement")
    args = parser.parse_args()
    stop_on_sigterm()
    RESULTS.mkdir(exist_ok=True)

    facts = machine()
    started = datetime.now(timezone.utc)
    messages = make_messages(args.messages)
    validated = validation(messages)  # first, while no broker is running and the machine is quiet
    if args.projection == "both":
        validated["projection"] = projection(messages)
    brokers = asyncio.run(measure(args, messages, validated))
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
                                     **{name: round(run["msg_per_s"] / t["hub"][name]["msg_per_s"], 3)
                                        for name, run in k["hub"].items() if name in t["hub"]}}
    if WITHOUT_SASL in brokers:
        results["sasl_cost"] = sasl_cost(brokers)
    write_results(args.out, results)
    print_table(results)
    print(f"\nwritten to {args.out}")
    if args.profile:
        print("profiles: " + ", ".join(str(RESULTS / f"route-profile-{k}.txt") for k in args.brokers))


if __name__ == "__main__":
    sys.exit(main())
