"""Shared fixtures: the session's brokers (Apache Kafka and tansu), a fresh namespace per test, real hub processes,
the bundled schemas. Helpers live in tests/support."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator

import pytest

from hub.bus.admin import wait_for_broker
from hub.bus.broker_security import BrokerLogin
from hub.bus.brokers.kafka import ApacheKafka
from hub.bus.brokers.tansu import Tansu
from hub.bus.topics import BrokerLink, Topics
from hub.core.schemas.registry import SchemaRegistry, bundled_schemas_dir
from hub.settings import Settings
from tests.support import containers
from tests.support.brokers import BROKER_KINDS, BrokerUnderTest
from tests.support.hubs import HubProcess


@pytest.fixture(scope="session")
def kafka_cluster(tmp_path_factory) -> Iterator[tuple[str, BrokerLogin | None]]:
    """The session's Apache Kafka, run as `lgsp-hub up` runs it, with SASL and ACLs, and its admin
    (LGSP_TEST_KAFKA=container: in Docker, without authentication)."""
    if containers.wanted(containers.KAFKA):
        yield containers.kafka_bootstrap(), None
        return
    settings = Settings()  # LGSP_KAFKA_VERSION runs the suite on another version
    kafka = ApacheKafka(tmp_path_factory.mktemp("kafka"), settings.kafka_cache_dir,
                        version=settings.kafka_version).start()
    try:
        asyncio.run(wait_for_broker(BrokerLink(kafka.bootstrap_servers, Topics(), login=kafka.admin_login)))
        yield kafka.bootstrap_servers, kafka.admin_login
    finally:
        kafka.stop()


@pytest.fixture(scope="session")
def tansu_cluster() -> Iterator[tuple[str, None]]:
    with Tansu() as tansu:
        yield tansu.bootstrap_servers, None


@pytest.fixture(scope="session", params=BROKER_KINDS)
def broker_kind(request) -> str:
    """Every test that touches a broker runs once on each kind; its id says which."""
    return request.param


@pytest.fixture(scope="session")
def session_broker(broker_kind, request) -> BrokerUnderTest:
    bootstrap, login = request.getfixturevalue(f"{broker_kind}_cluster")
    return BrokerUnderTest(broker_kind, bootstrap, Topics(), login)


@pytest.fixture
def broker(session_broker) -> BrokerUnderTest:
    """A fresh namespace on the session's broker of this kind."""
    return session_broker.fresh()


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


@pytest.fixture(scope="module")
def schemas() -> SchemaRegistry:
    """The bundled message contracts, compiled once per test module."""
    return SchemaRegistry.from_dirs(bundled_schemas_dir())
