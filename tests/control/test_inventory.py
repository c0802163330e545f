"""A hub alone, without the simulated province: the operator loads the inventory it counts and binds."""

from __future__ import annotations

import subprocess
import sys

import httpx

from hub.core.inventory import Inventory, read_inventory
from tests.support import ROOT
from tests.support.connectors import MOT_CUA
from tests.support.hubs import OPERATOR, HubProcess
from tests.support.inventory import INVENTORY
from tests.support.waiting import eventually

BINH_DINH = Inventory.model_validate(read_inventory(ROOT / "scenarios" / "binh-dinh-2023.toml"))
BOUND = {**MOT_CUA, "systems": ["mot-cua"]}


def connectivity(hub: HubProcess) -> dict:
    return httpx.get(f"{hub.url}/v1/kpi/connectivity", timeout=10).json()


async def test_a_hub_alone_binds_systems_of_the_inventory_the_operator_loads(tmp_path, broker):
    hub = HubProcess(tmp_path, broker, command="serve").start()
    try:
        assert httpx.get(f"{hub.url}/v1/inventory", timeout=10).status_code == 404
        refused = httpx.post(f"{hub.url}/v1/connectors", json=BOUND, headers=OPERATOR, timeout=10)
        assert refused.status_code == 422
        assert {"field": "systems[0]", "rule": "knownSystem"}.items() <= refused.json()["error"]["details"][0].items()
        assert connectivity(hub)["total"] == 0 and connectivity(hub)["province"] is None

        document = BINH_DINH.model_dump(mode="json")
        orphan = {**document, "systems": [{**document["systems"][0], "owner": "999.99.99.H22"}]}
        bad = httpx.put(f"{hub.url}/v1/inventory", json=orphan, headers=OPERATOR, timeout=10)
        assert bad.status_code == 422 and "owner" in bad.text
        assert httpx.put(f"{hub.url}/v1/inventory", json=document, timeout=10).status_code == 401
        assert httpx.put(f"{hub.url}/v1/inventory", json=document, headers=OPERATOR, timeout=10).status_code == 200
        assert httpx.get(f"{hub.url}/v1/inventory", timeout=10).json() == document

        registered = httpx.post(f"{hub.url}/v1/connectors", json=BOUND, headers=OPERATOR, timeout=10)
        assert registered.status_code == 201, registered.text
        await eventually(lambda: connectivity(hub)["total"], what="the inventory's systems counted")
        counted = connectivity(hub)
        assert counted["total"] == BINH_DINH.connected_systems_denominator()
        assert counted["province"]["name"] == BINH_DINH.province.name
    finally:
        hub.stop()
    again = HubProcess(tmp_path, broker, command="serve").start()  # the same store: the inventory was kept
    try:
        assert httpx.get(f"{again.url}/v1/inventory", timeout=10).json() == document
    finally:
        again.stop()


def test_serve_names_a_broken_inventory_before_starting_anything(tmp_path):
    path = tmp_path / "inventory.toml"
    path.write_text(INVENTORY.replace("{owner}", "999.99.99.H22"), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "hub", "serve"], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "LGSP_INVENTORY": str(path), "LGSP_BROKER": "tansu",
                               "LGSP_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}"})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "systems[0].owner" in done.stderr and "lgsp-hub  http" not in done.stdout
