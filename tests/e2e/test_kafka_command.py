"""`lgsp-hub kafka start|status|stop`: the hub's local Apache Kafka on its own, for hubs and tools pointed at it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from aiokafka.errors import KafkaError

from hub.bus.admin import wait_for_broker
from hub.bus.broker_security import BrokerLogin
from hub.bus.brokers.kafka import admin_credential
from hub.bus.brokers.process import free_port
from hub.bus.topics import BrokerLink, Topics
from tests.support import ROOT


def kafka(command: str, data_dir, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LGSP_KAFKA_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "hub", "kafka", command, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)


def test_start_status_stop(tmp_path):
    data, port = tmp_path / "kafka", free_port()
    assert kafka("status", data).returncode == 1
    started = kafka("start", data, "--port", str(port))
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert f"127.0.0.1:{port}" in started.stdout
        assert f"{data / 'admin.credential'}" in started.stdout  # where its admin's password is
        admin = BrokerLogin.parse(admin_credential(data))
        link = BrokerLink(f"127.0.0.1:{port}", Topics(), login=admin)
        asyncio.run(wait_for_broker(link, timeout=10))  # it outlived the command, and takes its admin
        with pytest.raises(KafkaError):  # and no one else
            asyncio.run(wait_for_broker(link.as_login(admin.as_user("admin", "not-the-password")), timeout=3))
        status = kafka("status", data)
        assert status.returncode == 0 and f"at 127.0.0.1:{port}" in status.stdout, status.stdout + status.stderr
        again = kafka("start", data, "--port", str(free_port()))
        assert again.returncode == 1 and "already runs" in again.stderr
    finally:
        stopped = kafka("stop", data)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stdout + stopped.stderr
    assert kafka("status", data).returncode == 1
