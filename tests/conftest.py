"""Shared fixtures: the session's brokers (Apache Kafka and tansu), a fresh namespace per test, real hub processes."""

from __future__ import annotations

import asyncio
import http.server
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from hub.bus.admin import wait_for_broker
from hub.bus.brokers.kafka import ApacheKafka
from hub.bus.brokers.process import free_port
from hub.bus.brokers.tansu import Tansu
from hub.bus.topics import BrokerLink, Topics
from hub.core.credentials import Credential
from hub.core.envelope import decode
from hub.sdk.registrar import RegistrationClient
from hub.settings import Settings
from hub.testing.pytest_plugin import LgspHub, launch, stop_process
from tests import containers

ROOT = Path(__file__).resolve().parent.parent
# Every hub the tests start, and every HttpRegistrar, uses this operator token.
OPERATOR_TOKEN = os.environ.setdefault("LGSP_OPERATOR_TOKEN", "test-operator-token")
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


BROKER_KINDS = ("kafka", "tansu")


@dataclass(frozen=True)
class BrokerUnderTest:
    """One broker of the session, seen through a namespace of its own (a fresh topic prefix)."""

    kind: str
    bootstrap: str
    topics: Topics

    @property
    def link(self) -> BrokerLink:
        return BrokerLink(self.bootstrap, self.topics, idempotence=self.kind == "kafka")

    @property
    def env(self) -> dict[str, str]:
        """What a hub process on this namespace is given."""
        return {"LGSP_BROKER": self.kind, "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
                "LGSP_TOPIC_PREFIX": self.topics.prefix}

    def settings(self, **given) -> Settings:
        return Settings(broker=self.kind, kafka_bootstrap_servers=self.bootstrap, topic_prefix=self.topics.prefix,
                        **given)

    def fresh(self) -> BrokerUnderTest:
        return BrokerUnderTest(self.kind, self.bootstrap, Topics(f"t{uuid.uuid4().hex[:12]}"))


@pytest.fixture(scope="session")
def kafka_cluster(tmp_path_factory) -> Iterator[str]:
    """The session's Apache Kafka, run as `lgsp-hub up` runs it (LGSP_TEST_KAFKA=container: in Docker)."""
    if containers.wanted(containers.KAFKA):
        yield containers.kafka_bootstrap()
        return
    settings = Settings()  # LGSP_KAFKA_VERSION runs the suite on another version
    kafka = ApacheKafka(tmp_path_factory.mktemp("kafka"), settings.kafka_cache_dir,
                        version=settings.kafka_version).start()
    try:
        asyncio.run(wait_for_broker(kafka.bootstrap_servers))
        yield kafka.bootstrap_servers
    finally:
        kafka.stop()


@pytest.fixture(scope="session")
def tansu_cluster() -> Iterator[str]:
    with Tansu() as tansu:
        yield tansu.bootstrap_servers


@pytest.fixture(scope="session", params=BROKER_KINDS)
def broker_kind(request) -> str:
    """Every test that touches a broker runs once on each kind; its id says which."""
    return request.param


@pytest.fixture(scope="session")
def session_broker(broker_kind, request) -> BrokerUnderTest:
    return BrokerUnderTest(broker_kind, request.getfixturevalue(f"{broker_kind}_cluster"), Topics())


@pytest.fixture
def broker(session_broker) -> BrokerUnderTest:
    """A fresh namespace on the session's broker of this kind."""
    return session_broker.fresh()


async def produce(bootstrap: str, topic: str, values: list[bytes], keys: list[bytes | None] | None = None,
                  signer: Credential | None = None) -> None:
    """Send records as they are; with `signer`, each carries its signature headers."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, linger_ms=5)
    await producer.start()
    try:
        acks = [await producer.send(topic, v, key=(keys[i] if keys else None),
                                    headers=signer.headers(v) if signer else None) for i, v in enumerate(values)]
        await asyncio.gather(*acks)
    finally:
        await producer.stop()


async def consume(bootstrap: str, topic: str, count: int, timeout: float = 30.0, idle: float = 0.0) -> list:
    """Read `topic` from the start until `count` records arrived (then `idle` more seconds) or timeout."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False, fetch_max_wait_ms=100)
    await consumer.start()
    records: list = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and len(records) < count:
            batches = await consumer.getmany(timeout_ms=200)
            records += [r for part in batches.values() for r in part]
        settle = time.monotonic() + idle
        while time.monotonic() < settle:
            batches = await consumer.getmany(timeout_ms=200)
            records += [r for part in batches.values() for r in part]
    finally:
        await consumer.stop()
    return records


async def read_ids(bootstrap: str, topic: str, expected: set, timeout: float = 120.0) -> list:
    """Envelope ids on `topic` from the start, until every expected one was seen (duplicates kept: delivery
    is at-least-once, so counting records would stop early) or timeout."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False, fetch_max_wait_ms=100)
    await consumer.start()
    ids: list = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not expected <= set(ids):
            batches = await consumer.getmany(timeout_ms=200)
            ids += [decode(r.value).id for part in batches.values() for r in part]
    finally:
        await consumer.stop()
    return ids


class HubProcess:
    """`lgsp-hub up` as a real process on a free port, with its own store file.

    `broker`: a namespace on a session broker, or a kind ("kafka", "tansu") for a broker the hub runs itself."""

    def __init__(self, tmp: Path, broker: BrokerUnderTest | str, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "LGSP_PORT": str(self.port), "LGSP_DATABASE_URL": f"sqlite:///{tmp / 'hub.db'}",
                    "LGSP_REFRESH_SECONDS": "0.5", "LGSP_STUBS": "false", "LGSP_KAFKA_DATA_DIR": str(tmp / "kafka")}
        self.env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
        if isinstance(broker, str):  # (not isinstance BrokerUnderTest: pytest may import this module twice)
            self.env["LGSP_BROKER"] = broker
        else:
            self.env.update(broker.env)
        self.env.update(env)
        self.env.update(containers.hub_environment(tmp, env))  # LGSP_TEST_DATABASE=container
        self.log = tmp / f"hub-{self.port}.log"
        self.process: subprocess.Popen | None = None
        self._view = LgspHub(self.url)  # reads the broker's address and namespace from /v1/health, once

    def start(self, timeout: float = 120.0, own_group: bool = False) -> HubProcess:
        self.process = launch(self.env, ROOT, self.log, timeout, own_group)
        return self

    @property
    def link(self) -> BrokerLink:
        return self._view.broker

    @property
    def bootstrap(self) -> str:
        return self.link.bootstrap_servers

    @property
    def topics(self) -> Topics:
        return self.link.topics

    def register(self, spec: dict) -> Credential:
        """Register (or update) a connector as the operator; a fresh credential to sign its messages."""
        return RegistrationClient(self.url, OPERATOR_TOKEN).enrol(spec)

    def publish(self, raw: bytes, signer: Credential | None) -> httpx.Response:
        """POST /v1/messages with the signature of `raw` (unsigned without a signer)."""
        headers = {"content-type": "application/json", **(signer.http_headers(raw) if signer else {})}
        return httpx.post(f"{self.url}/v1/messages", content=raw, headers=headers, timeout=30)

    def stop(self, sig: int = signal.SIGINT) -> int:
        return stop_process(self.process, sig) if self.process else 0


def pytest_sessionfinish() -> None:
    containers.stop_all()


@pytest.fixture(scope="module")
def hub_process(tmp_path_factory, session_broker) -> Iterator[HubProcess]:
    hub = HubProcess(tmp_path_factory.mktemp("hub"), session_broker.fresh()).start()
    yield hub
    hub.stop()


@pytest.fixture
def schema_server() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server offering a JSON Schema; yields its base URL and the paths anyone fetched."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"type": "string"}')

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", hits
    finally:
        server.shutdown()
        server.server_close()
