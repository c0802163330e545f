"""`lgsp-hub up` as a user runs it, with a broker of its own of each kind: state survives a restart, and
Ctrl-C, SIGTERM or a broker that died first stop everything within 15 s, leaving no broker behind.

A terminal's Ctrl-C signals the whole foreground process group; the hub runs in a group of its own here so
that the signal can be sent the same way (the broker is in a group of its own, so it is not signalled).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import httpx
import pytest

from tests.support.hubs import OPERATOR, HubProcess, alive

SPEC = {"id": "so-tu-phap", "name": "Sở Tư pháp", "agency": "000.00.01.H22", "consumes": ["dossier.submitted"]}
BOUND = 15.0  # seconds a shutdown may take at most
BROKER_PROCESS = {"kafka": "kafka.Kafka", "tansu": "tansu"}


def _broker_pid(hub: HubProcess, kind: str) -> int:
    tasks = os.listdir(f"/proc/{hub.process.pid}/task")
    children = [c for t in tasks for c in open(f"/proc/{hub.process.pid}/task/{t}/children").read().split()]
    [pid] = [int(c) for c in children if BROKER_PROCESS[kind] in open(f"/proc/{c}/cmdline").read()]
    return pid


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _stopped_by_group_signal(hub: HubProcess, broker_pid: int, sig: int) -> float:
    """Signal the hub's process group as a terminal would; seconds until the hub and its broker are gone."""
    started = time.monotonic()
    os.killpg(hub.process.pid, sig)
    try:
        code = hub.process.wait(timeout=BOUND)
    except subprocess.TimeoutExpired:
        hub.process.kill()
        pytest.fail(f"the hub still ran {BOUND:g} s after {signal.Signals(sig).name}:\n{hub.log.read_text()[-3000:]}")
    assert _gone_within(broker_pid, max(BOUND - (time.monotonic() - started), 0.1)), "the broker outlived the hub"
    assert code in (0, -sig, 128 + sig), hub.log.read_text()[-3000:]
    return time.monotonic() - started


def test_registry_survives_restart_and_ctrl_c_stops_the_broker(tmp_path, broker_kind):
    hub = HubProcess(tmp_path, broker_kind).start(own_group=True)
    broker_pid = _broker_pid(hub, broker_kind)
    health = httpx.get(f"{hub.url}/v1/health").json()["broker"]
    assert health["managed"] and health["kind"] == broker_kind
    if broker_kind == "kafka":
        assert health["name"] == "Apache Kafka" and health["version"][0].isdigit(), health
    schema = httpx.get(f"{hub.url}/v1/schemas/ndxp.receipt/versions/1").json()
    schema["properties"]["MaTinh"] = {"type": "string"}
    assert httpx.post(f"{hub.url}/v1/connectors", json=SPEC, headers=OPERATOR).status_code == 201
    posted = httpx.post(f"{hub.url}/v1/schemas/ndxp.receipt/versions", json={"schema": schema}, headers=OPERATOR)
    assert posted.json()["version"] == 2
    _stopped_by_group_signal(hub, broker_pid, signal.SIGINT)

    again = HubProcess(tmp_path, broker_kind)  # the same store and, on Kafka, the same data folder
    again.env["LGSP_DATABASE_URL"] = hub.env["LGSP_DATABASE_URL"]
    again.start()
    try:
        assert httpx.get(f"{again.url}/v1/connectors/{SPEC['id']}").json()["name"] == "Sở Tư pháp"
        assert httpx.get(f"{again.url}/v1/schemas/ndxp.receipt/versions").json() == [1, 2]
    finally:
        again.stop()


def test_sigterm_to_the_group_stops_the_hub_and_its_broker(tmp_path, broker_kind):
    hub = HubProcess(tmp_path, broker_kind).start(own_group=True)
    _stopped_by_group_signal(hub, _broker_pid(hub, broker_kind), signal.SIGTERM)


def test_ctrl_c_after_the_broker_died_still_stops_the_hub(tmp_path, broker_kind):
    hub = HubProcess(tmp_path, broker_kind, LGSP_STUBS="true").start(own_group=True)  # clients busy with it
    broker_pid = _broker_pid(hub, broker_kind)
    os.kill(broker_pid, signal.SIGKILL)
    assert _gone_within(broker_pid, 5)
    time.sleep(1)  # the clients notice it is gone
    _stopped_by_group_signal(hub, broker_pid, signal.SIGINT)


def test_sigkill_of_the_hub_takes_its_broker_down(tmp_path, broker_kind):
    hub = HubProcess(tmp_path, broker_kind).start()
    broker_pid = _broker_pid(hub, broker_kind)
    hub.stop(signal.SIGKILL)
    assert _gone_within(broker_pid, 5)
