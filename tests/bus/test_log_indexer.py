"""The log indexer builds the message log from `<prefix>.decisions`: one record per decision, one chain per
partition, nothing twice across restarts or re-published decisions, and its lag back to 0 once caught up.
Every wait is an eventually-style poll, bounded by a generous timeout."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from hub.audit.message_log import verify
from hub.bus.topics import BrokerLink, Topics
from hub.store import Store, message_log
from tests.support import ROOT
from tests.support.decisions import CITIZEN, PARTITIONS, ensure_topic, made, publish, running_indexer
from tests.support.records import produce
from tests.support.waiting import eventually, until


@pytest.fixture
def store(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    yield store
    store.close()


def count(store: Store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(message_log)).scalar()


def lag_gauge() -> float | None:
    return REGISTRY.get_sample_value("lgsp_log_indexer_lag")


async def test_each_decision_is_one_record_on_its_partitions_chain(broker, store):
    await ensure_topic(broker)
    sent = made(40) + made(20, 40, type="citizen.verify.request")
    await publish(broker, sent, per_transaction=15)
    async with running_indexer(broker, store, log_payload={"dossier.*": "full", "citizen.*": "none"}) as indexer:
        await eventually(lambda: count(store) == len(sent), what="every decision in the log")
        await eventually(lambda: indexer.lag == 0 and lag_gauge() == 0, what="the lag back to 0")
        subject = indexer.log.subject(CITIZEN)
    records = list(store.log_records())
    assert sorted(r["message_id"] for r in records) == sorted(d.message_id for d in sent)
    chains = Counter(r["chain"] for r in records)
    assert set(chains) <= {f"{broker.topics.decisions}/{p}" for p in range(PARTITIONS)} and len(chains) > 1
    assert sum(chains.values()) == len(sent)
    assert verify(store).ok and verify(store).checked == len(sent)
    full = next(r for r in records if r["type"] == "dossier.submitted")
    assert orjson.loads(full["payload"])["payload"]["ChuHoSo"]["SoDinhDanh"] == CITIZEN
    assert all(r["payload"] is None and r["payload_sha256"] == "" for r in records if r["type"] == "citizen.verify.request")
    found = {r["message_id"] for r in store.find_log(100, subject)}
    assert found == {d.message_id for d in sent[:40]}  # "none" mode: not indexed by subject
    for chain in chains:  # a partition's chain follows its offsets: each record's origin after the one before
        offsets = [int(r["origin"].rsplit("/", 1)[1]) for r in records if r["chain"] == chain]
        assert offsets == sorted(offsets)


async def test_decisions_published_twice_are_stored_once(broker, store):
    """tansu is at-least-once: a router restarted after a crash publishes a batch's decisions again, with
    the same origins. Within a batch or against the store, the second is skipped; HTTP-edge decisions (no
    origin) are never duplicates."""
    await ensure_topic(broker)
    first, edge = made(30), made(3, 100, origin=False)
    await publish(broker, first + edge)
    async with running_indexer(broker, store):
        await eventually(lambda: count(store) == 33, what="the first decisions in the log")
    await publish(broker, first[20:] + made(10, 30) + first[25:] + edge[:1])  # re-published, while no indexer runs
    async with running_indexer(broker, store) as indexer:
        await eventually(lambda: indexer.lag == 0 and indexer.indexed == 26, what="the indexer caught up")
    origins = Counter(r["origin"] for r in store.log_records())
    assert origins.pop(None) == 4 and set(origins.values()) == {1} and len(origins) == 40
    assert verify(store).ok and verify(store).checked == 44


async def test_while_the_store_is_away_nothing_is_lost(broker, store, monkeypatch):
    await ensure_topic(broker)
    append, failures = store.append_log, [5]

    def away(*args, **kwargs):
        if failures[0]:
            failures[0] -= 1
            raise OSError("store away")
        return append(*args, **kwargs)

    monkeypatch.setattr(store, "append_log", away)
    sent = made(50)
    await publish(broker, sent, per_transaction=10)
    async with running_indexer(broker, store) as indexer:
        await eventually(lambda: count(store) == 50 and indexer.lag == 0, what="every decision once the store is back")
    assert failures == [0] and verify(store).ok and verify(store).checked == 50


async def test_a_record_that_is_no_decision_is_passed_over(broker, store):
    await ensure_topic(broker)
    await publish(broker, made(3))
    await produce(broker.client, broker.topics.decisions, [b"not a decision"], keys=[b"x"])
    await publish(broker, made(3, 3))
    async with running_indexer(broker, store) as indexer:
        await eventually(lambda: indexer.indexed == 7 and count(store) == 6, what="the decisions around it stored")
    assert verify(store).ok


async def test_the_indexer_prunes_past_the_retention(broker, store):
    await ensure_topic(broker)
    await publish(broker, made(10, at=1_000_000_000.0))  # long past any retention
    async with running_indexer(broker, store, log_retention_days=1, prune_seconds=0.1) as indexer:
        await eventually(lambda: indexer.indexed == 10, what="the decisions indexed")
        await eventually(lambda: count(store) == 0, what="the old records pruned")
    assert verify(store).ok and store.log_anchors()


STREAM, CHUNK = 4000, 100


async def test_a_killed_indexer_restarted_mid_stream_stores_every_decision_once(broker, tmp_path: Path):
    """`lgsp-hub log-indexer` is killed (SIGKILL) mid-stream and started again: the log is complete, nothing is
    stored twice, every chain verifies."""
    await ensure_topic(broker)
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    store = Store(url)
    env = {**os.environ, **broker.env, "LGSP_DATABASE_URL": url}
    output = open(tmp_path / "indexer.log", "ab")  # noqa: SIM115, ASYNC230 - closed in finally
    sent = made(STREAM)
    processes: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        processes.append(subprocess.Popen([sys.executable, "-m", "hub", "log-indexer"], env=env, cwd=ROOT,
                                          stdout=output, stderr=subprocess.STDOUT))
        return processes[-1]

    def state() -> str:
        output.flush()
        return f"{count(store)} of {STREAM} stored\n" + (tmp_path / "indexer.log").read_text(errors="replace")[-3000:]

    async def stream() -> None:
        for start_at in range(0, STREAM, CHUNK):
            await publish(broker, sent[start_at:start_at + CHUNK], per_transaction=CHUNK // 2)
            await asyncio.sleep(0.05)

    streaming = asyncio.create_task(stream())
    try:
        first = start()
        await until(lambda: count(store) >= STREAM // 4, state)
        first.send_signal(signal.SIGKILL)
        first.wait()
        start()
        await asyncio.wait_for(streaming, 120)
        await until(lambda: count(store) >= STREAM, state)
        await asyncio.sleep(1.0)  # anything written twice would show now
    finally:
        streaming.cancel()
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=20)
        output.close()
    origins = Counter(r["origin"] for r in store.log_records())
    assert len(origins) == STREAM and set(origins.values()) == {1}, state()
    assert verify(store).ok and verify(store).checked == STREAM
    store.close()


def test_the_indexer_reads_committed_decisions_only_when_the_router_produces_transactionally():
    link = BrokerLink("localhost:9092", Topics("p"))
    assert link.isolation_level == "read_uncommitted"  # tansu has no transactions
    assert dataclasses.replace(link, transactions=True).isolation_level == "read_committed"
