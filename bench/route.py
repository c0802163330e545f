"""Router throughput: raw aiokafka relay ceiling vs the hub end to end vs validation alone.

Run with `make bench`, i.e. `.venv/bin/python bench/route.py [--messages N] [--partitions P] [--profile]`.

(a) relay    a consumer-group relay source → out on the embedded broker (getmany, produce every record
             without awaiting each send, gather the acks, commit): the ceiling of aiokafka + tansu.
(b) hub      the real hub.router.Router over `lgsp.ingress` → `lgsp.out.ndxp`, validation on; a separate
             process consumes the inbox so it does not share the router's core. Clock: first ingress batch
             handed to the router → Nth record consumed (CLOCK_MONOTONIC is system-wide on Linux).
             Four runs, each on a fresh broker: `bare` (no signatures, no message log), `log` (the message
             log alone), then signed messages verified with an `hmac-sha256` and with an `ed25519`
             credential, message log on.
(c) validate hub.routing.route() in a loop on one core, its split by stage, signature checks, and
             jsonschema-rs vs fastjsonschema on the payload schema with the custom `x-*` keywords stripped.

Both (a) and (b) start their clocks at the first record, not at start(): group joins on tansu take seconds.
Results go to bench/results/route.json; --profile writes a pyinstrument profile of the router side of (b)
to bench/results/route-profile.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import fastjsonschema
import jsonschema_rs
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from hub import personal_id
from hub.audit import MessageLog
from hub.broker import INGRESS_TOPIC, EmbeddedBroker
from hub.catalog import Catalog
from hub.credentials import CREDENTIAL_HEADER, SIGNATURE_HEADER, Credential, Keyring, issue
from hub.directory import ConnectorSpec, Directory, inbox_topic
from hub.envelope import Envelope, encode
from hub.router import Router
from hub.routing import Delivery, resolve, route
from hub.schemas import SchemaRegistry, bundled_schemas_dir
from hub.settings import Settings
from hub.store import Store
from hub.testing import dossier_submitted

RESULTS = Path(__file__).resolve().parent / "results"
CONNECTORS = [
    {"id": "mot-cua", "name": "Một cửa điện tử", "agency": "000.00.01.H22", "produces": ["dossier.submitted"]},
    {"id": "ndxp", "name": "NDXP", "agency": "national", "level": "national", "consumes": ["dossier.submitted"]},
]
CONSUMER = dict(enable_auto_commit=False, auto_offset_reset="earliest",
                fetch_max_wait_ms=50, max_partition_fetch_bytes=8 << 20)  # as in hub/router.py
PRODUCER = dict(acks="all", enable_idempotence=False, linger_ms=2, max_batch_size=1 << 20,
                max_request_size=16 << 20)  # as in hub/router.py
CUSTOM_KEYWORDS = ("x-personal-id", "x-birth-year-matches")  # hub/schema_rules.py; fastjsonschema can't run them
TIMEOUT = 120.0  # seconds any one broker measurement may take
MODES = ("bare", "log", "hmac-sha256", "ed25519")  # (b) neither signatures nor log; the log alone; both
ALGORITHMS = MODES[2:]
Message = tuple[bytes, bytes, list[tuple[str, bytes]]]  # key, value, headers


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


def rate(count: int, seconds: float) -> dict[str, float]:
    return {"msg_per_s": round(count / seconds), "us_per_msg": round(seconds / count * 1e6, 2),
            "seconds": round(seconds, 3)}


# -- broker helpers -----------------------------------------------------------------------------------------
async def create_topics(bootstrap: str, topics: list[str], partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, partitions, 1) for t in topics])
    finally:
        await admin.close()


async def preload(bootstrap: str, topic: str, messages: list[Message]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **PRODUCER)
    await producer.start()
    try:
        await asyncio.gather(*[await producer.send(topic, value, key=key, headers=headers)
                               for key, value, headers in messages])
    finally:
        await producer.stop()


# -- (a) raw relay ceiling ----------------------------------------------------------------------------------
async def relay_ceiling(bootstrap: str, messages: list[Message], partitions: int, batch_max: int) -> dict:
    source, out, n = "bench.relay.source", "bench.relay.out", len(messages)
    await create_topics(bootstrap, [source, out], partitions)
    await preload(bootstrap, source, messages)
    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, group_id="bench-relay", **CONSUMER)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **PRODUCER)
    await producer.start()
    await consumer.start()
    relayed, first = 0, None
    try:
        while relayed < n:
            batches = await consumer.getmany(timeout_ms=200, max_records=batch_max)
            records = [record for part in batches.values() for record in part]
            if not records:
                continue
            first = first or time.monotonic()
            await asyncio.gather(*[await producer.send(out, r.value, key=r.key) for r in records])
            last = time.monotonic()
            await consumer.commit()
            relayed += len(records)
    finally:
        await consumer.stop()
        await producer.stop()
    return {"relayed": relayed, **rate(relayed, last - first)}


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

    async def _route_batch(self, records: list) -> None:
        if self.first_batch_at is None:
            self.first_batch_at = time.monotonic()
            if self.profiler:
                self.profiler.start()
        await super()._route_batch(records)
        self.last_batch_at = time.monotonic()


async def hub_end_to_end(bootstrap: str, messages: list[Message], partitions: int,
                         profile: Path | None, mode: str) -> dict:
    """The router on `messages`: `bare` without signatures or message log, else signed with `mode`."""
    n, inbox = len(messages), inbox_topic("ndxp")
    credential = None
    if mode not in ("bare", "log"):
        credential, row = issue("mot-cua", mode)
        messages = signed(messages, credential)
    await create_topics(bootstrap, [INGRESS_TOPIC, inbox], partitions)
    await preload(bootstrap, INGRESS_TOPIC, messages)
    ctx = mp.get_context("spawn")
    ready, done = ctx.Event(), ctx.Queue()
    counter = ctx.Process(target=count_inbox, args=(bootstrap, inbox, n, ready, done), daemon=True)
    counter.start()
    await asyncio.to_thread(ready.wait, 30)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/bench.db", partitions=partitions,
                            require_signatures=credential is not None)
        store = Store(settings.database_url)
        for spec in CONNECTORS:
            store.put_connector(spec["id"], spec)
        if credential is not None:
            store.add_credential(row, None)
        catalog = Catalog(store, SchemaRegistry.from_dirs(bundled_schemas_dir()), settings.require_signatures)
        catalog.reload()
        message_log = MessageLog(store, "bench", settings=settings) if mode != "bare" else None
        if message_log:
            await message_log.start()
        router = TimedRouter(bootstrap, catalog, settings, message_log)
        if profile:
            from pyinstrument import Profiler
            router.profiler = Profiler(async_mode="disabled")
        await router.start()
        running = asyncio.create_task(router.run())
        try:
            last = await asyncio.to_thread(done.get, True, TIMEOUT)
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
            counter.join(5)
    if profile:
        write_profile(router.profiler, profile)
    stats = router.stats
    return {"routed": stats.routed, "rejected": stats.rejected, "batches": stats.batches,
            "router_batch_max": settings.router_batch_max, **rate(n, last - router.first_batch_at),
            "router_side": rate(stats.routed, router.last_batch_at - router.first_batch_at),
            "message_log": {"written": message_log.written if message_log else 0,
                            "catch_up_seconds": round(catch_up, 3)}}


def write_profile(profiler: Any, path: Path) -> None:
    """The call tree with library frames shown (aiokafka's share is the point), pruned below 0.5 %."""
    from pyinstrument.renderers import ConsoleRenderer

    renderer = ConsoleRenderer(unicode=True, show_all=True, processor_options={"filter_threshold": 0.005})
    header = "# router side of (b), first batch → Nth record consumed\n"
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
    v, hub = results["validation"], results["hub"]
    rows = [("(a) raw relay ceiling", results["relay"])]
    for mode in MODES:
        rows += [(f"(b) hub end to end, {mode}", hub[mode]),
                 ("    router side only (first batch → last commit)", hub[mode]["router_side"])]
    rows += [
        ("(c) route() one core, unsigned", v["route"]),
        *[(f"    route() with {algorithm} verification", v[f"route+{algorithm}"]) for algorithm in ALGORITHMS],
        ("    decode + Envelope.model_validate", v["split"]["decode+envelope"]),
        ("    schemas.validate (jsonschema-rs + x-* keywords)", v["split"]["schemas.validate"]),
        ("    resolve", v["split"]["resolve"]),
        ("    payload, x-* stripped: jsonschema-rs", v["payload_schema_without_custom_keywords"]["jsonschema_rs"]),
        ("    payload, x-* stripped: fastjsonschema", v["payload_schema_without_custom_keywords"]["fastjsonschema"]),
    ]
    print(f"\n{'measurement':<52} {'msg/s':>10} {'µs/msg':>8}")
    for name, r in rows:
        print(f"{name:<52} {r['msg_per_s']:>10,} {r['us_per_msg']:>8}")
    print()
    for mode, ratios in results["ratios"].items():
        print(f"(b) {mode:<12} / (a) relay = {ratios['to_relay']:.2f}   / (b) bare = {ratios['to_bare']:.2f}")
    print(f"{results['messages']:,} messages × {results['message_bytes']} B, {results['partitions']} partitions")
    for mode in MODES[1:]:
        log = hub[mode]["message_log"]
        print(f"message log ({mode}): {log['written']:,} decisions chained and written; "
              f"{log['catch_up_seconds']} s still to write when routing ended")


async def broker_measurements(args: argparse.Namespace, messages: list[Message]) -> tuple[dict, dict]:
    """Each measurement on a fresh broker: tansu keeps everything in memory."""
    with EmbeddedBroker() as broker:
        relay = await asyncio.wait_for(relay_ceiling(broker.bootstrap_servers, messages, args.partitions,
                                                     Settings().router_batch_max), TIMEOUT)
    hub = {}
    for mode in MODES:
        profile = RESULTS / "route-profile.txt" if args.profile and mode == "ed25519" else None
        with EmbeddedBroker() as broker:
            hub[mode] = await asyncio.wait_for(
                hub_end_to_end(broker.bootstrap_servers, messages, args.partitions, profile, mode), TIMEOUT + 30)
    return relay, hub


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000, help="messages per measurement")
    parser.add_argument("--partitions", type=int, default=6, help="partitions of the source/ingress topics")
    parser.add_argument("--profile", action="store_true", help="profile the router side of (b) with pyinstrument")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)

    messages = make_messages(args.messages)
    validated = validation(messages)  # first, while the broker is not running and the machine is quiet
    relay, hub = asyncio.run(broker_measurements(args, messages))
    ratios = {mode: {"to_relay": round(hub[mode]["msg_per_s"] / relay["msg_per_s"], 3),
                     "to_bare": round(hub[mode]["msg_per_s"] / hub["bare"]["msg_per_s"], 3)} for mode in MODES}
    results = {
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python", *sys.argv]),
        "machine": {"nproc": len(os.sched_getaffinity(0)), "python": platform.python_version(),
                    "platform": platform.platform()},
        "messages": args.messages, "partitions": args.partitions, "message_bytes": len(messages[0][1]),
        "profiled": args.profile,  # the profiler slows the router: (b) of a --profile run is not comparable
        "relay": relay, "hub": hub, "validation": validated, "ratios": ratios,
    }
    (RESULTS / "route.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print_table(results)
    if args.profile:
        print(f"profile: {RESULTS / 'route-profile.txt'}")


if __name__ == "__main__":
    sys.exit(main())
