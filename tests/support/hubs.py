"""Real hub processes (`lgsp-hub up`) and the operator token every hub the tests start uses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from hub.bus.brokers.kafka import admin_credential
from hub.bus.brokers.process import free_port
from hub.bus.topics import BrokerLink, Topics
from hub.core.credentials import Credential
from hub.sdk.registrar import RegistrationClient
from hub.testing.pytest_plugin import LgspHub, launch, stop_process
from tests.support import ROOT, containers
from tests.support.brokers import BrokerUnderTest

# Every hub the tests start, and every HttpRegistrar, uses this operator token.
OPERATOR_TOKEN = os.environ.setdefault("LGSP_OPERATOR_TOKEN", "test-operator-token")
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


class HubProcess:
    """`lgsp-hub up` as a real process on a free port, with its own store file.

    `broker`: a namespace on a session broker, or a kind ("kafka", "tansu") for a broker the hub runs itself."""

    def __init__(self, tmp: Path, broker: BrokerUnderTest | str, command: str = "up", **env: str) -> None:
        self.command = command  # `up`: the hub with the province's inventory and clock; `serve`: the hub alone
        self.namespace = broker  # another process may join it
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
        # The tests' own clients connect as the broker's admin: the session's, or the one this hub formats.
        self._view.broker_credential = str(broker.login) if getattr(broker, "login", None) else None
        self._kafka_dir = tmp / "kafka"

    def start(self, timeout: float = 120.0, own_group: bool = False) -> HubProcess:
        self.process = launch(self.env, ROOT, self.log, timeout, own_group, self.command)
        return self

    @property
    def link(self) -> BrokerLink:
        if self._view.broker_credential is None:
            self._view.broker_credential = admin_credential(self._kafka_dir)
        return self._view.broker

    @property
    def bootstrap(self) -> str:
        return self.link.bootstrap_servers

    @property
    def broker_credential(self) -> str | None:
        """The broker admin's 'username:password', for the tools that tap every topic (None: tansu)."""
        _ = self.link
        return self._view.broker_credential

    @property
    def tool_env(self) -> dict[str, str]:
        """What `lgsp-hub record` and the like are given to tap this hub's broker."""
        return {"LGSP_BROKER_CREDENTIAL": self.broker_credential} if self.broker_credential else {}

    @property
    def client(self) -> dict:
        """What a test's own aiokafka client connects with: the address, as the broker's admin."""
        return self.link.client

    @property
    def topics(self) -> Topics:
        return self.link.topics

    def register(self, spec: dict) -> Credential:
        """Register (or update) a connector as the operator; a fresh credential to sign its messages."""
        return RegistrationClient(self.url, OPERATOR_TOKEN).enrol(spec)[0]

    def publish(self, raw: bytes, signer: Credential | None) -> httpx.Response:
        """POST /v1/messages with the signature of `raw` (unsigned without a signer)."""
        headers = {"content-type": "application/json", **(signer.http_headers(raw) if signer else {})}
        return httpx.post(f"{self.url}/v1/messages", content=raw, headers=headers, timeout=30)

    def stop(self, sig: int = signal.SIGINT) -> int:
        return stop_process(self.process, sig) if self.process else 0


def alive(pid: int) -> bool:
    """The process runs (a zombie, ended but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return open(f"/proc/{pid}/stat").read().split()[2] != "Z"


def audit(db_url: str, *args: str) -> subprocess.CompletedProcess:
    """`lgsp-hub audit …` (`verify` unless told) on the store at `db_url`."""
    return subprocess.run([sys.executable, "-m", "hub", "audit", *(args or ("verify",))], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, env={**os.environ, "LGSP_DATABASE_URL": db_url})
