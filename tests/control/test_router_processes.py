"""The hub's router in processes of its own (LGSP_ROUTER_PROCESSES): they route what the API takes in, one
that dies is started again and routes what waited for it, and the hub's stop leaves none behind."""

from __future__ import annotations

import os
import signal
import socket
import time

import httpx

from hub.audit.decisions import ROUTER_HEADER
from hub.core.envelope import encode
from hub.testing.samples import dossier_submitted
from tests.support.connectors import MOT_CUA, NDXP
from tests.support.hubs import HubProcess, alive
from tests.support.records import consume, read_ids


def _workers(hub: HubProcess) -> list[dict]:
    return httpx.get(f"{hub.url}/v1/health", timeout=10).json()["router_workers"]


def _started_again(hub: HubProcess, killed: int, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        [worker] = _workers(hub)
        if worker["alive"] and worker["pid"] != killed:
            return worker
        time.sleep(0.2)
    raise AssertionError(f"no new worker within {timeout:g} s: {_workers(hub)}\n{hub.log.read_text()[-3000:]}")


def _children(pid: int) -> set[int]:
    return {int(c) for t in os.listdir(f"/proc/{pid}/task")
            for c in open(f"/proc/{pid}/task/{t}/children").read().split()}


async def test_a_worker_routes_and_one_killed_is_started_again(broker, tmp_path):
    hub = HubProcess(tmp_path, broker, LGSP_ROUTER_PROCESSES="1").start()
    try:
        [worker] = _workers(hub)
        assert worker["alive"] and worker["pid"] in _children(hub.process.pid), worker
        signer = hub.register(MOT_CUA)
        hub.register(NDXP)
        first = dossier_submitted(counter=1)
        assert hub.publish(encode(first), signer).status_code == 202
        assert first.id in await read_ids(hub.client, hub.topics.inbox("ndxp"), {first.id})

        os.kill(worker["pid"], signal.SIGKILL)
        waited = dossier_submitted(counter=2)
        assert hub.publish(encode(waited), signer).status_code == 202  # taken in while no worker routes
        again = _started_again(hub, worker["pid"])
        assert again["restarts"] == 1, again
        assert waited.id in await read_ids(hub.client, hub.topics.inbox("ndxp"), {waited.id})
        decisions = await consume(hub.client, hub.topics.decisions, 2)
        routers = {dict(r.headers)[ROUTER_HEADER].decode() for r in decisions}
        host = socket.gethostname()
        assert routers == {f"{host}-{worker['pid']}", f"{host}-{again['pid']}"}, routers
    finally:
        assert hub.stop() in (0, -signal.SIGINT)
    assert not alive(again["pid"]), "the worker outlived the hub"
