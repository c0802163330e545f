"""Apache Kafka and PostgreSQL in containers for the integration and e2e tests, when asked for.

- `LGSP_TEST_KAFKA=container`: the session's Apache Kafka (`kafka_cluster`, which every `[kafka]` test
  uses through a namespace of its own) is the official image (apache/kafka, KRaft, one node) started with
  testcontainers, instead of the one the project runs from Maven Central's jars.
- `LGSP_TEST_DATABASE=container`: every `HubProcess` stores in one PostgreSQL (image postgres) started
  for the session, a database per hub directory (a hub restarted on the same directory finds its store).

Unset (the default, and CI), nothing starts here. Set, and no Docker engine answers, the tests that need
the container are skipped with the reason.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from pathlib import Path

import pytest

KAFKA = "LGSP_TEST_KAFKA"
DATABASE = "LGSP_TEST_DATABASE"
# The version hub/brokers/pom.xml pins for the broker the project runs itself.
KAFKA_IMAGE = "apache/kafka:4.1.1"
POSTGRES_IMAGE = "postgres:17"

_started: dict[str, object] = {}


def wanted(variable: str) -> bool:
    return os.environ.get(variable, "").strip().lower() == "container"


def docker_address() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


@functools.cache
def engine_answers() -> bool:
    import docker

    try:
        client = docker.from_env(timeout=5)
    except docker.errors.DockerException:
        return False
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def require_engine(variable: str) -> None:
    """Skip the calling test when `variable` asks for a container and no Docker engine answers."""
    if not engine_answers():
        pytest.skip(f"{variable}=container but no Docker engine answers at {docker_address()}")


def _apache_kafka():
    """testcontainers' KafkaContainer, started the apache/kafka way.

    Its own KRaft mode (`with_kraft()`) drives Confluent images only (their start scripts, tag >= 7.0.0);
    this keeps its port mapping and start-script handshake and starts the official image's `run` instead.
    """
    from testcontainers.community.kafka import KafkaContainer

    class ApacheKafkaContainer(KafkaContainer):
        def configure(self) -> None:
            self.wait_for = re.compile(r".*Kafka Server started.*")
            self.with_env("CLUSTER_ID", "wgIf_slNUc2NhMSHlH4tgw")
            self.with_env("KAFKA_NODE_ID", "1")
            self.with_env("KAFKA_PROCESS_ROLES", "broker,controller")
            self.with_env("KAFKA_LISTENERS", f"{self.listeners},CONTROLLER://0.0.0.0:9094")
            self.with_env("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", f"{self.security_protocol_map},CONTROLLER:PLAINTEXT")
            self.with_env("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
            self.with_env("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9094")
            self.with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
            self.with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
            self.with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")

        def tc_start(self) -> None:
            host, port = self.get_container_host_ip(), self.get_exposed_port(self.port)
            script = (f"export KAFKA_ADVERTISED_LISTENERS={self.listener_name}://{host}:{port},"
                      f"BROKER://$(hostname -i | cut -d' ' -f1):9092\n"
                      "exec /etc/kafka/docker/run\n")
            self.create_file(script.encode(), self.TC_START_SCRIPT)

    return ApacheKafkaContainer(KAFKA_IMAGE)


def kafka_bootstrap() -> str:
    """The session's Apache Kafka (started on first use); skips the test when no Docker engine answers."""
    if "kafka" not in _started:
        require_engine(KAFKA)
        _started["kafka"] = _apache_kafka().start(timeout=180)
    return _started["kafka"].get_bootstrap_server()


def postgres_url(scratch: Path) -> str:
    """A database of the session's PostgreSQL for the hub whose directory is `scratch`, made on first use."""
    import psycopg

    if "postgres" not in _started:
        require_engine(DATABASE)
        from testcontainers.community.postgres import PostgresContainer

        _started["postgres"] = PostgresContainer(POSTGRES_IMAGE, driver="psycopg").start()
    server = _started["postgres"]
    name = "hub_" + hashlib.sha1(str(scratch.resolve()).encode()).hexdigest()[:16]
    with psycopg.connect(server.get_connection_url(driver=None), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return server.get_connection_url().rsplit("/", 1)[0] + f"/{name}"


def hub_environment(scratch: Path, given: dict[str, str]) -> dict[str, str]:
    """What a test hub in `scratch` gets from the containers asked for (settings the test gave win)."""
    if wanted(DATABASE) and "LGSP_DATABASE_URL" not in given:
        return {"LGSP_DATABASE_URL": postgres_url(scratch)}
    return {}


def stop_all() -> None:
    while _started:
        _, container = _started.popitem()
        container.stop()
