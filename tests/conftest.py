"""Shared fixtures: a real Kafka-protocol broker (embedded tansu) and a real hub process."""

from __future__ import annotations

import asyncio
import http.server
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from hub.broker import EmbeddedBroker
from hub.credentials import Credential
from hub.envelope import decode
from hub.pytest_plugin import free_port, launch, stop_process
from tests import containers

ROOT = Path(__file__).resolve().parent.parent
# Every hub the tests start, and every HttpRegistrar, uses this operator token.
OPERATOR_TOKEN = os.environ.setdefault("LGSP_OPERATOR_TOKEN", "test-operator-token")
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


@pytest.fixture
def broker() -> Iterator[str]:
    """A fresh embedded broker per test: tansu starts in ~50 ms and isolates tests completely.

    LGSP_TEST_KAFKA=container: the session's Apache Kafka instead, emptied first (tests/containers.py)."""
    if containers.wanted(containers.KAFKA):
        yield containers.fresh_kafka()
        return
    with EmbeddedBroker() as embedded:
        yield embedded.bootstrap_servers


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
    """`lgsp-hub up` as a real process on a free port, with its own store file."""

    def __init__(self, tmp: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "LGSP_PORT": str(self.port), "LGSP_DATABASE_URL": f"sqlite:///{tmp / 'hub.db'}",
                    "LGSP_REFRESH_SECONDS": "0.5", "LGSP_STUBS": "false", **env}
        if "KAFKA_BOOTSTRAP_SERVERS" not in env:  # the hub starts its own embedded broker
            self.env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
        self.env.update(containers.hub_environment(tmp, env))  # LGSP_TEST_KAFKA/LGSP_TEST_DATABASE=container
        self.log = tmp / f"hub-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> HubProcess:
        containers.hub_starting(self)
        self.process = launch(self.env, ROOT, self.log, timeout)
        return self

    @property
    def bootstrap(self) -> str:
        return httpx.get(f"{self.url}/v1/health").json()["broker"]["bootstrap_servers"]

    def register(self, spec: dict) -> Credential:
        """Register (or update) a connector as the operator; a fresh credential to sign its messages."""
        response = httpx.post(f"{self.url}/v1/connectors", json=spec, headers=OPERATOR, timeout=10)
        if response.status_code == 200:  # registered before: rotate to a credential this test knows
            response = httpx.post(f"{self.url}/v1/connectors/{spec['id']}/credentials", headers=OPERATOR, timeout=10)
        response.raise_for_status()
        shown = response.json()
        return Credential.parse(shown.get("credential", shown)["value"])

    def publish(self, raw: bytes, signer: Credential | None) -> httpx.Response:
        """POST /v1/messages with the signature of `raw` (unsigned without a signer)."""
        headers = {"content-type": "application/json", **(signer.http_headers(raw) if signer else {})}
        return httpx.post(f"{self.url}/v1/messages", content=raw, headers=headers, timeout=30)

    def stop(self, sig: int = signal.SIGINT) -> int:
        containers.hub_stopped(self)
        return stop_process(self.process, sig) if self.process else 0


def pytest_sessionfinish() -> None:
    containers.stop_all()


@pytest.fixture(scope="module")
def hub_process(tmp_path_factory) -> Iterator[HubProcess]:
    hub = HubProcess(tmp_path_factory.mktemp("hub")).start()
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
