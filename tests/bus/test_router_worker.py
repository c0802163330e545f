"""`lgsp-hub router` alone: a worker serves its own /metrics when asked to."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from hub.bus.brokers.process import free_port
from hub.store import Store
from hub.testing.pytest_plugin import stop_process
from tests.support import ROOT


def test_a_router_worker_serves_its_metrics(broker, tmp_path):
    db_url = f"sqlite:///{tmp_path / 'hub.db'}"
    Store(db_url).close()
    port = free_port()
    env = {**os.environ, **broker.env, "LGSP_DATABASE_URL": db_url,
           "LGSP_ROUTER_METRICS_PORT": str(port)}
    with open(tmp_path / "router.log", "wb") as log:
        worker = subprocess.Popen([sys.executable, "-m", "hub", "router"], env=env, cwd=ROOT, stdout=log,
                                  stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
                break
            except httpx.TransportError:
                assert worker.poll() is None, (tmp_path / "router.log").read_text()
                assert time.monotonic() < deadline, "the worker never served /metrics"
                time.sleep(0.2)
        names = {family.name for family in text_string_to_metric_families(text)}
        assert {"lgsp_messages_routed", "lgsp_route_latency_seconds"} <= names, names
    finally:
        stop_process(worker)
