"""Three router workers share the ingress, one is SIGKILLed in the middle of 20,000 signed messages.

The API runs without its own router (LGSP_ROUTER=false) on each broker; three `lgsp-hub router` workers join
the namespace's router group with the API's store. Which worker routed a message is read from the decisions
topic: every decision record names its worker (hub.audit.decisions.ROUTER_HEADER). On Apache Kafka every
inbox, read committed, then holds each message exactly once, and so does the decisions topic; on tansu
(at-least-once) nothing is missing and duplicates are allowed. No assertion depends on timing; every wait
is bounded by a generous timeout (a group rebalance takes several seconds). The API's log indexer builds the
message log from the decisions topic: it holds exactly one decision per message on both brokers.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from hub.audit.decisions import ROUTER_HEADER, decode
from hub.core.envelope import decode as decode_envelope
from hub.core.envelope import encode
from hub.store import message_log
from hub.testing.samples import dossier_submitted
from tests.support import ROOT
from tests.support.connectors import MOT_CUA, NDXP
from tests.support.hubs import HubProcess
from tests.support.records import consume
from tests.support.waiting import until

N = 20_000  # messages at least
AFTER = 2_000  # messages sent after the kill at least
CHUNK, PAUSE = 100, 0.1  # a steady flow of ~1,000 messages a second: the kill lands mid-stream
TIMEOUT = 180.0  # seconds any one wait may take
REPORTS = {"id": "bao-cao", "name": "Báo cáo", "agency": "000.00.01.H22", "consumes": ["dossier.submitted"]}


def worker_name(process: subprocess.Popen) -> str:
    """How a worker's decision records name it (hub.audit.decisions.worker_id)."""
    return f"{socket.gethostname()}-{process.pid}"


class Tally:
    """Reads a topic read committed from its start, counting what it finds."""

    def __init__(self, client: dict, topic: str, read) -> None:
        self.client, self.topic, self.read = client, topic, read
        self.counts: Counter = Counter()
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> Tally:
        self._consumer = AIOKafkaConsumer(self.topic, **self.client, group_id=None,
                                          auto_offset_reset="earliest", isolation_level="read_committed",
                                          fetch_max_wait_ms=100)
        await self._consumer.start()
        self._task = asyncio.create_task(self._follow())
        return self

    async def _follow(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=200)
            self.counts.update(self.read(r) for part in batches.values() for r in part)

    async def __aexit__(self, *exc) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()


def routed_by(record) -> str:
    return dict(record.headers)[ROUTER_HEADER].decode()


def decided(record) -> tuple[str, str]:
    d = decode(record.value, record.headers)
    return d.message_id, d.outcome


def message_id(record) -> str:
    return str(decode_envelope(record.value).id)


class Stream:
    """Signed dossier.submitted messages sent in small chunks, in order: N at least, and AFTER more once
    killed() was called, however long the kill took."""

    def __init__(self, broker, signer) -> None:
        self.broker, self.signer = broker, signer
        self.envelopes: list = []
        self.sent = 0
        self._until: int | None = None  # known once the kill happened

    def killed(self) -> None:
        self._until = max(N, self.sent + AFTER)

    async def run(self) -> None:
        producer = AIOKafkaProducer(**self.broker.client, acks="all", linger_ms=5)
        await producer.start()
        try:
            while self._until is None or self.sent < self._until:
                chunk = [dossier_submitted(counter=i) for i in range(self.sent, self.sent + CHUNK)]
                self.envelopes += chunk
                acks = [await producer.send(self.broker.topics.ingress, raw, key=e.key.encode(),
                                            headers=self.signer.headers(raw))
                        for e, raw in ((e, encode(e)) for e in chunk)]
                await asyncio.gather(*acks)
                self.sent += len(chunk)
                await asyncio.sleep(PAUSE)
        finally:
            await producer.stop()


async def test_three_workers_one_killed_mid_stream_each_message_once(broker, tmp_path: Path):
    hub = HubProcess(tmp_path, broker, LGSP_ROUTER="false", LGSP_PARTITIONS="6").start()
    workers: list[subprocess.Popen] = []
    log = open(tmp_path / "routers.log", "ab")  # noqa: SIM115 - closed in finally

    def start_worker() -> subprocess.Popen:
        env = {**hub.env, "LGSP_ROUTER_BATCH_MAX": "500"}
        workers.append(subprocess.Popen([sys.executable, "-m", "hub", "router"], env=env, cwd=ROOT,
                                        stdout=log, stderr=subprocess.STDOUT))
        return workers[-1]

    streaming = None
    try:
        sender = hub.register(MOT_CUA)
        hub.register(NDXP)
        hub.register(REPORTS)
        async with Tally(broker.client, broker.topics.decisions, routed_by) as routers, \
                Tally(broker.client, broker.topics.decisions, decided) as decisions, \
                Tally(broker.client, broker.topics.inbox("ndxp"), message_id) as ndxp, \
                Tally(broker.client, broker.topics.inbox("bao-cao"), message_id) as reports:

            def state(what: str):
                def shown() -> str:
                    log.flush()
                    tail = (tmp_path / "routers.log").read_text(errors="replace")[-3000:]
                    return (f"{what}; {stream.sent} sent; routed by {dict(routers.counts)}; "
                            f"workers {[(w.pid, w.poll()) for w in workers]}\n{tail}")
                return shown

            first, *_ = [start_worker() for _ in range(3)]
            stream = Stream(broker, sender)
            streaming = asyncio.create_task(stream.run())
            names = {worker_name(w) for w in workers}
            await until(lambda: names <= routers.counts.keys(), state("all three workers routing"))
            await until(lambda: stream.sent >= N // 10, state("a tenth of the stream sent"))
            left_open = await kill_inside_a_transaction(first, broker)
            stream.killed()
            await asyncio.wait_for(streaming, TIMEOUT)
            sent = {str(e.id) for e in stream.envelopes}
            await until(lambda: sent <= ndxp.counts.keys() and sent <= reports.counts.keys(),
                        state("every message delivered"))
            await asyncio.sleep(3)  # time for a duplicate to show, were there one
            dead = await consume(broker.client, broker.topics.dlq, 1, timeout=2.0)
    finally:
        if streaming and not streaming.done():
            streaming.cancel()
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGCONT)  # a stopped process takes no SIGTERM
                worker.terminate()
                worker.wait(timeout=20)
        hub.stop()
        log.close()

    assert dead == [], [dict(r.headers) for r in dead[:3]]
    assert routers.counts.keys() == names, f"only the workers route (the API does not): {routers.counts}"
    delivered = Counter({message_id: n for (message_id, outcome), n in decisions.counts.items()
                         if outcome == "delivered"})
    report = {inbox: {"sent": len(sent), "missing": len(sent - counts.keys()), "duplicates": sum(n - 1 for n in counts.values())}
              for inbox, counts in (("ndxp", ndxp.counts), ("bao-cao", reports.counts), ("decisions", delivered))}
    logged = await until_logged(hub.env["LGSP_DATABASE_URL"], sent)
    report["message log"] = {"sent": len(sent), "missing": len(sent - logged.keys()),
                             "duplicates": sum(n - 1 for n in logged.values())}
    print(f"\n{broker.kind}: killed with {left_open} records in open transactions; {report}")  # pytest -s
    assert all(r["missing"] == 0 for r in report.values()), report
    assert report["message log"]["duplicates"] == 0, report  # the indexer drops a decision it already holds
    if broker.kind == "kafka":  # exactly-once: the killed worker's open transactions were aborted
        assert left_open > 0, "the kill should land inside a transaction"
        assert all(r["duplicates"] == 0 for r in report.values()), report


async def until_logged(db_url: str, sent: set[str], timeout: float = TIMEOUT) -> Counter:
    """The message log's delivered decisions per message id, once it holds every message sent."""
    engine = sa.create_engine(db_url)
    counts: Counter = Counter()

    def read() -> bool:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(message_log.c.message_id, sa.func.count())
                                .where(message_log.c.outcome == "delivered").group_by(message_log.c.message_id))
            counts.clear()
            counts.update(dict(rows.all()))
        return sent <= counts.keys()

    try:
        await until(read, lambda: f"{len(sent - counts.keys())} of {len(sent)} not in the message log", timeout)
    finally:
        engine.dispose()
    return counts


async def kill_inside_a_transaction(worker: subprocess.Popen, broker) -> int:
    """SIGKILL `worker` in the middle of a transaction: stopped (SIGSTOP), a worker whose transaction stays
    open holds the decisions topic's last stable offset below its end; otherwise it is let go and stopped
    again a moment later. Returns the records it left in open transactions (tansu has none: killed at once)."""
    # A quick router keeps its transactions open a small share of the time: on a quiet machine a hundred tries
    # may all stop it between two; each try that misses costs about a second.
    for _ in range(400 if broker.kind == "kafka" else 0):
        worker.send_signal(signal.SIGSTOP)
        await asyncio.sleep(0.3)  # the other workers' transactions close within milliseconds
        first = await open_records(broker)
        await asyncio.sleep(0.3)
        still = await open_records(broker)
        left_open = sum(still[tp] for tp in first.keys() & still.keys() if first[tp] == still[tp])
        if left_open:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            return left_open
        worker.send_signal(signal.SIGCONT)
        await asyncio.sleep(random.uniform(0.05, 0.3))
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    return 0


async def open_records(broker) -> dict[TopicPartition, int]:
    """Per decisions partition with an open transaction: its records past the last stable offset."""
    ends = {}
    async with contextlib.AsyncExitStack() as stack:
        for isolation in ("read_uncommitted", "read_committed"):  # ListOffsets answers the end, then the LSO
            consumer = AIOKafkaConsumer(broker.topics.decisions, **broker.client,
                                        isolation_level=isolation)
            await consumer.start()
            stack.push_async_callback(consumer.stop)
            tps = [TopicPartition(broker.topics.decisions, p) for p in consumer.partitions_for_topic(broker.topics.decisions)]
            ends[isolation] = await consumer.end_offsets(tps)
    return {tp: end - ends["read_committed"][tp] for tp, end in ends["read_uncommitted"].items()
            if end > ends["read_committed"][tp]}
