"""Several router workers: `lgsp-hub router` processes share the ingress partitions, and losing one loses nothing.

The API runs without its own router (LGSP_ROUTER=false) on each broker; two, then three router
workers join the namespace's router group with the API's store. Which worker routed a message is read from
the message log: each worker writes its decisions to its own chain, named after its host and process id
(hub.audit.message_log.worker_id). No assertion here depends on timing; every wait is bounded by a generous timeout
(a group rebalance takes several seconds).
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import sqlalchemy as sa
from aiokafka import AIOKafkaProducer

from hub.core.envelope import encode
from hub.store import message_log
from hub.testing.samples import dossier_submitted
from tests.support import ROOT
from tests.support.connectors import MOT_CUA, NDXP
from tests.support.hubs import HubProcess
from tests.support.records import consume, read_ids
from tests.support.waiting import until

CHUNK, PAUSE = 25, 0.1  # a steady flow of ~250 messages a second
AFTER = 1000  # messages sent once a phase's condition held: the stream goes on across the kill
CAP = 20_000  # messages at most, should a worker never get its share
TIMEOUT = 120.0  # seconds any one wait may take


def worker_chain(process: subprocess.Popen) -> str:
    """The message log chain of a worker process (hub.audit.message_log.worker_id)."""
    return f"{socket.gethostname()}-{process.pid}"


def routed_by_chain(engine: sa.Engine) -> Counter[str]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(message_log.c.chain, sa.func.count()).group_by(message_log.c.chain)).all()
    return Counter(dict(rows))


def logged_deliveries(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(sa.select(message_log.c.message_id)
                                    .where(message_log.c.outcome == "delivered")).scalars())
    finally:
        engine.dispose()


class Stream:
    """Signed dossier.submitted messages sent in small chunks, in order, until told how many more."""

    def __init__(self, broker, signer) -> None:
        self.broker, self.signer = broker, signer
        self.envelopes = [dossier_submitted(counter=i) for i in range(CAP)]
        self.raws = [encode(e) for e in self.envelopes]
        self.sent = 0
        self._limit = CAP

    async def run(self) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.broker.bootstrap, enable_idempotence=False, acks="all",
                                    linger_ms=5)
        await producer.start()
        try:
            while self.sent < self._limit:
                end = min(self.sent + CHUNK, self._limit)
                acks = [await producer.send(self.broker.topics.ingress, raw, key=envelope.key.encode(),
                                            headers=self.signer.headers(raw))
                        for envelope, raw in zip(self.envelopes[self.sent:end], self.raws[self.sent:end])]
                await asyncio.gather(*acks)
                self.sent = end
                await asyncio.sleep(PAUSE)
        finally:
            await producer.stop()

    def stop_after(self, more: int) -> None:
        self._limit = min(CAP, self.sent + more)


async def test_workers_share_the_partitions_and_losing_one_loses_nothing(broker, tmp_path: Path):
    hub = HubProcess(tmp_path, broker, LGSP_ROUTER="false", LGSP_PARTITIONS="6").start()
    workers: list[subprocess.Popen] = []
    log = open(tmp_path / "routers.log", "ab")  # noqa: SIM115 - closed in finally

    def start_worker() -> subprocess.Popen:
        env = {**hub.env, "LGSP_ROUTER_BATCH_MAX": "200"}
        workers.append(subprocess.Popen([sys.executable, "-m", "hub", "router"], env=env, cwd=ROOT,
                                        stdout=log, stderr=subprocess.STDOUT))
        return workers[-1]

    engine = sa.create_engine(hub.env["LGSP_DATABASE_URL"])
    streaming = None

    def state(what: str):
        def shown() -> str:
            log.flush()
            tail = (tmp_path / "routers.log").read_text(errors="replace")[-3000:]
            return (f"{what}; {stream.sent} sent; routed per chain {dict(routed_by_chain(engine))}; workers "
                    f"{[(w.pid, w.poll()) for w in workers]}\n{tail}")
        return shown

    try:
        sender = hub.register(MOT_CUA)
        hub.register(NDXP)
        first, second = start_worker(), start_worker()
        stream = Stream(broker, sender)
        streaming = asyncio.create_task(stream.run())

        # Two workers: each routes a share of the ingress.
        both = {worker_chain(first), worker_chain(second)}
        await until(lambda: both <= routed_by_chain(engine).keys(), state("both workers routing"))

        # A third joins; once it routes too, the first is killed mid-stream.
        third = start_worker()
        await until(lambda: worker_chain(third) in routed_by_chain(engine), state("the third worker routing"))
        first.send_signal(signal.SIGKILL)
        first.wait()
        stream.stop_after(AFTER)
        await asyncio.wait_for(streaming, TIMEOUT)

        sent = {e.id for e in stream.envelopes[:stream.sent]}
        delivered = await read_ids(broker.bootstrap, broker.topics.inbox("ndxp"), sent)
        dead = await consume(broker.bootstrap, broker.topics.dlq, 1, timeout=3.0)
        routed = await asyncio.to_thread(routed_by_chain, engine)
    finally:
        if streaming and not streaming.done():
            streaming.cancel()
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=20)
        hub.stop()
        engine.dispose()
        log.close()

    routers_log = (tmp_path / "routers.log").read_text(errors="replace")[-3000:]
    assert set(delivered) == sent, f"{len(sent - set(delivered))} of {len(sent)} never delivered\n{routers_log}"
    assert len(delivered) >= len(sent)  # at-least-once: the killed worker's last batch may come twice
    assert dead == [], [dict(r.headers) for r in dead[:3]]
    assert {worker_chain(w) for w in workers} == routed.keys(), f"only workers route (the API does not): {routed}"
    assert all(routed[worker_chain(w)] > 0 for w in workers), routed
    # Input is committed only once its decisions are stored: what the killed worker had not logged, it had
    # not committed either, so another worker routed and logged it again.
    logged = logged_deliveries(hub.env["LGSP_DATABASE_URL"])
    assert {str(i) for i in sent} <= logged, f"{len({str(i) for i in sent} - logged)} delivered but not logged"
