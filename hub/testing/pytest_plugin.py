"""pytest plugin for connector vendors: a real hub per test session, fixture replay and outcome checks.

Installed with `pip install lgsp-hub` (entry point `pytest11: lgsp_hub`); nothing starts unless a test asks
for one of its fixtures:

- `lgsp_hub` (session): `lgsp-hub up` as a subprocess on a free port — a broker of its own (the kind
  `LGSP_BROKER` names: Apache Kafka by default, or tansu), router and API, no bundled connectors
  (`LGSP_STUBS=false`), its own temporary SQLite store — stopped with SIGINT at the end. It has `.url`,
  `.token` (its operator token), `.broker` (address and topic namespace), `.register(spec)`,
  `.replay(fixture, speed=None)` and `.areplay(...)` (the same, awaitable, for async tests).
  `--lgsp-hub-url URL` uses a running hub instead.
- `lgsp_replay`: `lgsp_hub.replay` — send a fixture (a path to a `lgsp-hub record` file, or a
  `hub.testing.format.Fixture`) after registering the connectors its header lists; returns a
  `hub.testing.session.ReplayResult`.
- `assert_outcomes(result)` (also the fixture `lgsp_assert_outcomes`): raises `AssertionError` with
  `result.diff()` when a message's outcome differs from the recorded one, else returns `result.summary()`.

Tests using these fixtures are marked `lgsp` (`pytest -m "not lgsp"` skips them). Example:

    from hub.testing.pytest_plugin import assert_outcomes

    def test_my_connector_messages(lgsp_replay):
        summary = assert_outcomes(lgsp_replay("tests/fixtures/my_connector.jsonl"))
        assert summary["delivered"] == 3 and summary["rejected"] == 1
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from hub.bus.brokers.process import free_port

if TYPE_CHECKING:  # the hub's other modules are imported only when a fixture is used
    from hub.bus.topics import BrokerLink
    from hub.sdk.registrar import RegistrationClient
    from hub.sdk.settings import ClientSettings
    from hub.testing.format import Fixture
    from hub.testing.session import ReplayResult

START_TIMEOUT = 180.0  # the first start of Apache Kafka fetches its jars


def assert_outcomes(result: ReplayResult) -> dict[str, Any]:
    """The replay's summary when every outcome matched the fixture; otherwise AssertionError with the diff."""
    __tracebackhide__ = True  # pytest shows the caller's line, not this one
    mismatched = result.mismatched
    if mismatched:
        raise AssertionError(f"{len(mismatched)} of {len(result.replayed)} replayed messages did not end as "
                             f"recorded:\n{result.diff()}")
    return result.summary()


class LgspHub:
    """A hub reached over HTTP; `process` is set when this plugin started it."""

    def __init__(self, url: str, process: subprocess.Popen | None = None, log: Path | None = None,
                 token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.process, self.log = process, log
        self.token = token or _client_settings().token  # the operator token of this hub
        self.broker_credential = _client_settings().broker_secret  # a principal that may tap every topic
        self._broker: BrokerLink | None = None

    @property
    def broker(self) -> BrokerLink:
        """The hub's broker address and topic namespace."""
        if self._broker is None:
            self._broker = self._client().broker(self._admin_credential() or self.broker_credential)
        return self._broker

    def _admin_credential(self) -> str | None:
        """The admin of the Apache Kafka this plugin's hub started, whose password it keeps in its folder."""
        if self.process is None or self.log is None:
            return None
        from hub.bus.brokers.kafka import admin_credential

        return admin_credential(self.log.parent / "kafka")

    def _client(self) -> RegistrationClient:
        from hub.sdk.registrar import RegistrationClient

        return RegistrationClient(self.url, self.token)

    @property
    def bootstrap_servers(self) -> str:
        return self.broker.bootstrap_servers

    def register(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Register (or replace) a connector; raises httpx.HTTPStatusError when the hub refuses it.
        A new connector's answer holds its credential (`["credential"]["value"]`), shown this once."""
        return self._client().register(spec)

    async def areplay(self, fixture: str | os.PathLike | Fixture, speed: float | None = None,
                      timeout: float = 60.0) -> ReplayResult:
        from hub.testing.format import Fixture
        from hub.testing.session import HubLink, replay

        if not isinstance(fixture, Fixture):
            fixture = Fixture.read(Path(fixture))
        return await replay(fixture, self.broker, HubLink(self.url, self.token).register, speed, timeout)

    def replay(self, fixture: str | os.PathLike | Fixture, speed: float | None = None,
               timeout: float = 60.0) -> ReplayResult:
        """Replay a fixture (speed: None as fast as possible, 1.0 recorded timing, N times faster)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.areplay(fixture, speed, timeout))
        raise RuntimeError("lgsp_hub.replay() runs its own event loop; in an async test, await lgsp_hub.areplay()")

    # --- the subprocess ---------------------------------------------------------------------------
    @classmethod
    def start(cls, scratch: Path, timeout: float = START_TIMEOUT) -> LgspHub:
        port, token = free_port(), secrets.token_urlsafe(16)
        env = {**os.environ, "LGSP_HOST": "127.0.0.1", "LGSP_PORT": str(port), "LGSP_STUBS": "false",
               "LGSP_DATABASE_URL": f"sqlite:///{scratch / 'hub.db'}", "LGSP_OPERATOR_TOKEN": token,
               "LGSP_KAFKA_DATA_DIR": str(scratch / "kafka")}
        env.pop("KAFKA_BOOTSTRAP_SERVERS", None)  # always a broker of its own
        log = scratch / "hub.log"
        return cls(f"http://127.0.0.1:{port}", launch(env, scratch, log, timeout), log, token)

    def stop(self) -> int | None:
        return stop_process(self.process) if self.process else None


def _client_settings() -> ClientSettings:
    from hub.sdk.settings import ClientSettings

    return ClientSettings()


def launch(env: dict[str, str], cwd: Path, log: Path, timeout: float = START_TIMEOUT,
           own_group: bool = False, command: str = "up") -> subprocess.Popen:
    """`lgsp-hub up` (or `command`) as a process (LGSP_PORT from `env`); returns once `/v1/health` answers 200.
    `own_group`: in a process group of its own, which a signal can reach as a terminal's Ctrl-C does."""
    import httpx

    url = f"http://127.0.0.1:{env['LGSP_PORT']}/v1/health"
    with open(log, "ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "hub", command], env=env, cwd=cwd, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=own_group)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"lgsp-hub exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_process(process)
    raise TimeoutError(f"lgsp-hub was not healthy within {timeout:g} s:\n{log.read_text()}")


def stop_process(process: subprocess.Popen, sig: int = signal.SIGINT) -> int:
    """Stop a hub as Ctrl-C would (or with `sig`); kill it if it has not exited within 20 s."""
    if process.poll() is not None:
        return process.returncode
    process.send_signal(sig)
    try:
        return process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("lgsp", "lgsp-hub").addoption(
        "--lgsp-hub-url", metavar="URL", default=None,
        help="use this running hub for the lgsp_hub fixture instead of starting one")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "lgsp: uses a real lgsp-hub (the lgsp_hub plugin's fixtures)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "lgsp_hub" in getattr(item, "fixturenames", ()):  # lgsp_replay included: it depends on it
            item.add_marker("lgsp")


@pytest.fixture(scope="session")
def lgsp_hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LgspHub]:
    """One hub for the session: started here (and stopped at the end), or the one `--lgsp-hub-url` names."""
    url = request.config.getoption("--lgsp-hub-url")
    if url:
        yield LgspHub(url)
        return
    hub = LgspHub.start(tmp_path_factory.mktemp("lgsp-hub"))
    try:
        yield hub
    finally:
        hub.stop()


@pytest.fixture
def lgsp_replay(lgsp_hub: LgspHub) -> Callable[..., ReplayResult]:
    """`lgsp_replay(path_or_fixture, speed=None)` against the session's hub."""
    return lgsp_hub.replay


@pytest.fixture
def lgsp_assert_outcomes() -> Callable[[ReplayResult], dict[str, Any]]:
    return assert_outcomes
