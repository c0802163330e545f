"""Router workers the hub runs as processes of its own (LGSP_ROUTER_PROCESSES).

Routing is the hub's busiest work; in the API's process it shares one interpreter lock with the API, the
operator's view and in-process connectors. A worker of its own gets a core of its own (bench/soak.py
measures the choice). Each worker is `lgsp-hub router` on the hub's settings and broker, serving its
counters on a /metrics port of its own; one that ends is started again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time

import orjson

from hub.bus.brokers.process import free_port, spawn, terminate
from hub.bus.topics import BrokerLink
from hub.settings import Settings

log = logging.getLogger(__name__)
RESTART_SECONDS = 5.0  # a worker that keeps failing is started again at most this often
_CLUSTER = ("kafka_bootstrap_servers", "kafka_security_protocol", "kafka_sasl_mechanism", "kafka_sasl_username",
            "kafka_sasl_password")  # given from the worker's link instead
_NOT_PASSED = {"operator_token", "router_metrics_port", *_CLUSTER}


def worker_environment(settings: Settings, link: BrokerLink, metrics_port: int) -> dict[str, str]:
    """The hub's environment with its settings written out: the worker reads the same ones, and connects as
    the router's principal."""
    env = dict(os.environ)
    for name, value in settings.model_dump(mode="json", exclude=_NOT_PASSED).items():
        if value is not None:
            env[f"LGSP_{name.upper()}"] = value if isinstance(value, str) else orjson.dumps(value).decode()
    for name in _CLUSTER:
        env.pop(f"LGSP_{name.upper()}", None)
        env.pop(name.upper(), None)
    env["KAFKA_BOOTSTRAP_SERVERS"] = link.bootstrap_servers
    if link.login:
        env.update(KAFKA_SECURITY_PROTOCOL=link.login.protocol, KAFKA_SASL_MECHANISM=link.login.mechanism,
                   KAFKA_SASL_USERNAME=link.login.username, KAFKA_SASL_PASSWORD=link.login.password)
    env["LGSP_ROUTER_METRICS_PORT"] = str(metrics_port)
    return env


class _Worker:
    def __init__(self, env: dict[str, str], metrics_port: int) -> None:
        self.env, self.metrics_port = env, metrics_port
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0
        self.restarts = 0

    def start(self) -> None:
        # Its log lines go where the hub's do. From the loop's (main) thread: the death signal is tied to it.
        self.process = spawn([sys.executable, "-m", "hub", "router", "--log-level", "warning"], env=self.env,
                             inherit_output=True)
        self.started_at = time.monotonic()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class RouterWorkers:
    def __init__(self, settings: Settings, link: BrokerLink) -> None:
        ports = [free_port() for _ in range(settings.router_processes)]
        self._workers = [_Worker(worker_environment(settings, link, port), port) for port in ports]
        self._stopping = False

    def start(self) -> None:
        for worker in self._workers:
            worker.start()
        log.info("router: %d worker processes (pids %s)", len(self._workers),
                 ", ".join(str(w.process.pid) for w in self._workers))

    async def watch(self, interval: float = 1.0) -> None:
        """Start again a worker that ended (a crash, the OOM killer), once RESTART_SECONDS have passed."""
        while not self._stopping:
            await asyncio.sleep(interval)
            for worker in self._workers:
                if self._stopping or worker.alive or time.monotonic() - worker.started_at < RESTART_SECONDS:
                    continue
                log.warning("router worker %d ended (exit code %s); starting it again",
                            worker.process.pid, worker.process.returncode)
                worker.restarts += 1
                worker.start()

    @property
    def running(self) -> bool:
        return all(worker.alive for worker in self._workers)

    def view(self) -> list[dict]:
        """Each worker as /v1/health shows it: where its counters are served."""
        return [{"pid": w.process.pid if w.process else None, "alive": w.alive, "restarts": w.restarts,
                 "metrics": f"http://127.0.0.1:{w.metrics_port}/metrics"} for w in self._workers]

    async def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM to all: each finishes the batch in hand and leaves the group; SIGKILL after `timeout`."""
        self._stopping = True
        await asyncio.gather(*(asyncio.to_thread(terminate, w.process, timeout) for w in self._workers))
