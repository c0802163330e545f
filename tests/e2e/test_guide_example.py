"""The guide's land-registry connector, run as its own process with `lgsp-hub connector run`."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from hub.sdk import Connector, HttpRegistrar
from tests.support import ROOT
from tests.support.hubs import OPERATOR_TOKEN, HubProcess
from tests.support.waiting import eventually


async def test_land_registry_example_answers_lookups(tmp_path, broker):
    hub = HubProcess(tmp_path, broker).start()
    runner = subprocess.Popen([sys.executable, "-m", "hub", "connector", "run", "examples.land_registry:land",
                               "--hub", hub.url], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    asker = Connector("so-xay-dung", name="Sở Xây dựng", agency="000.00.12.H22",
                      produces=["land.parcel.request"], expects=["land.parcel.reply"])
    try:
        await eventually(lambda: "dat-dai" in httpx.get(f"{hub.url}/v1/connectors").json(), timeout=60,
                         what="the example to register")
        await asker.start(HttpRegistrar(hub.url))
        found = await asker.request("land.parcel.request", {"MaYeuCau": "Q1", "MaXa": "21550", "SoToBanDo": 12,
                                                            "SoThua": 345}, target="dat-dai", timeout=60)
        missing = await asker.request("land.parcel.request", {"MaYeuCau": "Q2", "MaXa": "21550", "SoToBanDo": 1,
                                                              "SoThua": 1}, target="dat-dai", timeout=30)
        over_http = await asyncio.to_thread(_call_as_the_guide_does, hub, tmp_path)
    finally:
        await asker.stop()
        runner.terminate()
        output = runner.communicate(timeout=30)[0].decode()
        hub.stop()
    assert found.payload == {"MaYeuCau": "Q1", "TimThay": True, "DienTich": 152.4, "MucDichSuDung": "ODT"}
    assert missing.payload == {"MaYeuCau": "Q2", "TimThay": False}
    assert over_http["type"] == "land.parcel.reply" and over_http["source"] == "dat-dai"
    assert over_http["payload"] == found.payload  # the same answer over HTTP as over Kafka
    assert "connector dat-dai registered" in output
    assert runner.returncode == 0, output


def _call_as_the_guide_does(hub: HubProcess, workdir: Path) -> dict:
    """The two shell blocks of the guide's section 6, as written but for the hub's address."""
    section = (ROOT / "docs" / "connectors.md").read_text().split("## 6.")[1].split("\n## ")[0]
    register, call = (block.replace("localhost:8080", hub.url) for block in re.findall(r"```sh\n(.*?)```", section,
                                                                                         re.S))
    shell = {**os.environ, "LGSP_OPERATOR_TOKEN": OPERATOR_TOKEN, "PATH": f"{Path(sys.executable).parent}:"
             f"{os.environ['PATH']}"}
    registered = subprocess.run(["bash", "-euc", register.split("export ")[0]], cwd=workdir, env=shell,
                                capture_output=True, check=True)
    shell["LGSP_CONNECTOR_CREDENTIAL"] = json.loads(registered.stdout)["credential"]["value"]
    answered = subprocess.run(["bash", "-euc", call], cwd=workdir, env=shell, capture_output=True, check=True)
    return json.loads(answered.stdout)
