"""`lgsp-hub up` as a user runs it: state survives a restart, Ctrl-C leaves no broker behind."""

from __future__ import annotations

import os
import signal
import time

import httpx

from tests import containers
from tests.conftest import OPERATOR, HubProcess

pytestmark = containers.embedded_broker_only

SPEC = {"id": "so-tu-phap", "name": "Sở Tư pháp", "agency": "000.00.01.H22", "consumes": ["dossier.submitted"]}


def _broker_pid(hub: HubProcess) -> int:
    tasks = os.listdir(f"/proc/{hub.process.pid}/task")
    children = [c for t in tasks for c in open(f"/proc/{hub.process.pid}/task/{t}/children").read().split()]
    [pid] = [int(c) for c in children if "tansu" in open(f"/proc/{c}/cmdline").read()]
    return pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return open(f"/proc/{pid}/stat").read().split()[2] != "Z"


def test_registry_survives_restart_and_ctrl_c_stops_the_broker(tmp_path):
    hub = HubProcess(tmp_path).start()
    broker_pid = _broker_pid(hub)
    schema = httpx.get(f"{hub.url}/v1/schemas/ndxp.receipt/versions/1").json()
    schema["properties"]["MaTinh"] = {"type": "string"}
    assert httpx.post(f"{hub.url}/v1/connectors", json=SPEC, headers=OPERATOR).status_code == 201
    assert httpx.post(f"{hub.url}/v1/schemas/ndxp.receipt/versions", json={"schema": schema}, headers=OPERATOR).json()["version"] == 2
    assert hub.stop(signal.SIGINT) == 0
    assert not _alive(broker_pid)

    again = HubProcess(tmp_path)
    again.env["LGSP_DATABASE_URL"] = hub.env["LGSP_DATABASE_URL"]
    again.start()
    try:
        assert httpx.get(f"{again.url}/v1/connectors/{SPEC['id']}").json()["name"] == "Sở Tư pháp"
        assert httpx.get(f"{again.url}/v1/schemas/ndxp.receipt/versions").json() == [1, 2]
    finally:
        again.stop()


def test_sigkill_of_the_hub_takes_the_embedded_broker_down(tmp_path):
    hub = HubProcess(tmp_path).start()
    broker_pid = _broker_pid(hub)
    hub.stop(signal.SIGKILL)
    for _ in range(50):
        if not _alive(broker_pid):
            break
        time.sleep(0.1)
    assert not _alive(broker_pid)
