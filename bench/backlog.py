"""scale.py's (c): memory over a backlog. `--backlog` messages pre-loaded on the ingress with no worker
running, then one worker started; its VmRSS is sampled every second until the backlog is routed (the group's
committed ingress offsets), with the broker's."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Iterator

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition
from dossiers import Message
from sites import Site, send_all, started_producer
from workers import World, world

from hub.bus.brokers.process import rss_bytes
from hub.core.credentials import Credential
from hub.core.ids import uuid7
from hub.store import message_log


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


async def load_backlog(w: World, messages: list[Message], count: int) -> float:
    """Seconds to produce `count` messages made from `messages` onto the ingress."""
    producer = await started_producer(w.place)
    start = time.monotonic()
    try:
        for chunk in backlog_messages(messages, count, w.credential, 20_000):
            await send_all(producer, w.ingress, chunk)
    finally:
        await producer.stop()
    return time.monotonic() - start


async def sample_until_routed(w: World, backlog: int, timeout: float) -> list[dict]:
    """One worker started on the backlog; a sample a second of progress and memory until all is routed."""
    offsets = AIOKafkaConsumer(**w.client, group_id=w.group, enable_auto_commit=False)
    await offsets.start()
    samples: list[dict] = []
    try:
        w.start_workers(1)
        pid, start = w.workers[0].pid, time.monotonic()
        delivered = 0
        while delivered < backlog:
            w.check_workers()
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"backlog not routed: {delivered:,} of {backlog:,}")
            delivered = await committed(offsets, w.ingress, w.partitions)
            samples.append({"t": round(time.monotonic() - start, 1), "routed": delivered,
                            "logged": await asyncio.to_thread(log_count, w.db_url),
                            "worker_rss_mb": round(rss_bytes(pid) / 2**20, 1),
                            "broker_rss_mb": round(rss_bytes(w.broker_pid) / 2**20)})
            await asyncio.sleep(1.0)
    finally:
        await offsets.stop()
    return samples


async def memory(site: Site, args: argparse.Namespace, messages: list[Message]) -> dict:
    async with world(site, "c-backlog", args.partitions, args.backlog_algorithm) as w:
        await w.create_topics()
        broker_before_preload = rss_bytes(w.broker_pid)
        preload = await load_backlog(w, messages, args.backlog)
        broker_after_preload = rss_bytes(w.broker_pid)
        samples = await sample_until_routed(w, args.backlog, args.timeout * 10)
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
