"""LGSP_TEST_KAFKA / LGSP_TEST_DATABASE=container with no Docker engine: the tests that need one skip, saying why.

Each case runs one real test in a pytest subprocess pointed at a Docker socket that cannot exist, so the
outcome is the same on a machine with a Docker engine.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support import ROOT, containers

NO_ENGINE = "unix:///nonexistent/lgsp-test/docker.sock"


def run_pytest(test: str, **env: str) -> str:
    environment = {key: value for key, value in os.environ.items()
                   if key not in (containers.KAFKA, containers.DATABASE, "KAFKA_BOOTSTRAP_SERVERS")}
    done = subprocess.run([sys.executable, "-m", "pytest", test, "-q", "-rs", "-p", "no:cacheprovider"],
                          cwd=ROOT, env={**environment, "DOCKER_HOST": NO_ENGINE, **env},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize(("test", "variable"), [
    ("tests/bus/test_router.py::test_router_stops_cleanly_when_idle[kafka]", containers.KAFKA),  # `broker`
    ("tests/audit/test_message_log.py::test_every_request_body_has_a_limit[kafka]", containers.KAFKA),
    ("tests/audit/test_message_log.py", containers.DATABASE),  # HubProcess
])
def test_container_option_without_engine_skips_with_the_reason(test, variable):
    output = run_pytest(test, **{variable: "container"})
    assert "skipped" in output and "passed" not in output and "error" not in output, output
    assert f"{variable}=container but no Docker engine answers at {NO_ENGINE}" in output, output


def test_unset_changes_nothing(monkeypatch, tmp_path):
    """The default: no container, no Docker engine asked; hubs keep the session's brokers and a SQLite file."""
    monkeypatch.delenv(containers.KAFKA, raising=False)
    monkeypatch.delenv(containers.DATABASE, raising=False)
    monkeypatch.setattr(containers, "engine_answers", lambda: pytest.fail("asked for a Docker engine"))
    assert containers.hub_environment(tmp_path, {}) == {}
    assert not containers._started
