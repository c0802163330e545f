"""Indicators, metrics and the terminal views of a real hub process."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hub.core.envelope import Envelope, encode
from hub.sdk import Connector, HttpRegistrar
from tests.support import ROOT, connectors
from tests.support.hubs import OPERATOR, HubProcess
from tests.support.waiting import eventually

MOT_CUA = {**connectors.MOT_CUA, "systems": ["mot-cua"],
           "produces": ["dossier.submitted", "dossier.status_changed", "dossier.completed"]}


@pytest.fixture(scope="module")
def hub(tmp_path_factory, session_broker):
    process = HubProcess(tmp_path_factory.mktemp("operator"), session_broker.fresh(),
                         LGSP_HEARTBEAT_TIMEOUT_SECONDS="3").start()
    process.mot_cua_key = process.register(MOT_CUA)
    yield process
    process.stop()


def connectivity(hub: HubProcess) -> dict:
    return httpx.get(f"{hub.url}/v1/kpi/connectivity").json()


def dossier(code: str, channel: int) -> dict:
    return {"MaHoSo": f"000.00.01.H22-231115-{code}", "MaTTHC": "1.001612", "TenTTHC": "Đăng ký khai sinh",
            "MaLinhVuc": "HT", "ChuHoSo": {"HoVaTen": "Lê Văn An", "SoDinhDanh": "052085000123"},
            "LoaiDoiTuong": 1, "NgayTiepNhan": "2023-11-15T08:00:00+07:00",
            "NgayHenTra": "2023-11-20T17:00:00+07:00", "DonViXuLy": "000.00.01.H22", "KenhThucHien": channel,
            "MucDo": "toan_trinh", "TrangThaiHoSo": 2}


async def test_connectivity_follows_registration_pause_and_deletion(hub):
    before = connectivity(hub)
    total = before["total"]
    assert before["target"] == pytest.approx(0.6) and before["connected"] == 0
    land = Connector("dat-dai", name="CSDL đất đai", agency="000.01.04.H22", systems=["dat-dai"],
                     heartbeat_seconds=0.5)
    await land.start(HttpRegistrar(hub.url))
    try:
        await eventually(lambda: connectivity(hub)["connected"] == 1, what="the bound system to count")
        report = connectivity(hub)
        assert report["share"] == pytest.approx(1 / total)
        assert next(s for s in report["systems"] if s["id"] == "dat-dai")["connectors"] == ["dat-dai"]
        assert sum(level["connected"] for level in report["by_level"]) == 1
        httpx.put(f"{hub.url}/v1/connectors/dat-dai/pause", headers=OPERATOR).raise_for_status()
        await eventually(lambda: connectivity(hub)["connected"] == 0, what="a paused connector not to count")
        httpx.put(f"{hub.url}/v1/connectors/dat-dai/resume", headers=OPERATOR).raise_for_status()
        await eventually(lambda: connectivity(hub)["connected"] == 1, what="resumed connector to count again")
        assert httpx.delete(f"{hub.url}/v1/connectors/dat-dai", headers=OPERATOR).status_code == 204
        await eventually(lambda: connectivity(hub)["connected"] == 0, what="a deleted connector not to count")
    finally:
        await land.stop()
    history = httpx.get(f"{hub.url}/v1/kpi/connectivity/history").json()
    assert history["points"] and {"at", "share", "connected", "total"} <= set(history["points"][0])


async def test_dossier_indicators_come_from_routed_messages(hub):
    for code, channel in (("0001", 2), ("0002", 1), ("0003", 1)):
        envelope = Envelope.new("dossier.submitted", 1, "mot-cua", dossier(code, channel), key=code)
        assert hub.publish(encode(envelope), hub.mot_cua_key).status_code == 202
    await eventually(lambda: httpx.get(f"{hub.url}/v1/kpi/dossiers").json().get("cumulative", {})
                     .get("received") == 3, what="the hub to count three dossiers")
    total = httpx.get(f"{hub.url}/v1/kpi/dossiers").json()["cumulative"]
    assert total["online"] == 1 and total["online_share"] == pytest.approx(1 / 3)
    assert total["online_met"] is True  # 33.3% ≥ 30%
    assert total["open"] == 3


def test_metrics_parse_with_the_prometheus_parser(hub):
    bad = Envelope.new("dossier.submitted", 1, "mot-cua", {"MaHoSo": "x"})
    assert hub.publish(encode(bad), hub.mot_cua_key).status_code == 422
    families = {family.name: family for family in text_string_to_metric_families(httpx.get(f"{hub.url}/metrics").text)}
    # The routing counters live where the router runs: in the hub's router workers, on /metrics ports of their own.
    workers = httpx.get(f"{hub.url}/v1/health").json()["router_workers"] or []
    routing = [family for worker in workers
               for family in text_string_to_metric_families(httpx.get(worker["metrics"]).text)]
    routing = routing or list(families.values())  # LGSP_ROUTER_PROCESSES=0: in the API process
    routed = [s for f in routing if f.name == "lgsp_messages_routed" for s in f.samples
              if s.name == "lgsp_messages_routed_total"]
    assert any(s.labels == {"type": "dossier.submitted", "source": "mot-cua", "target": "lgsp-kpi"}
               and s.value >= 3 for s in routed)
    buckets = [s for f in routing if f.name == "lgsp_route_latency_seconds" for s in f.samples
               if s.name.endswith("_count")]
    assert buckets and sum(s.value for s in buckets) >= 3
    states = {s.labels["state"]: s.value for s in families["lgsp_connectors"].samples}
    assert set(states) == {"RUNNING", "PAUSED", "FAILED", "UNREACHABLE"} and sum(states.values()) >= 2
    assert families["lgsp_connectivity_target_ratio"].samples[0].value == pytest.approx(0.6)
    assert "lgsp_dossiers_online_ratio" in families and "lgsp_inbox_lag_messages" in families
    assert families["lgsp_router_lag_messages"].samples[0].value >= 0  # the router group's lag, seen from the API


def test_terminal_kpi_and_html_report(hub, tmp_path):
    kpi = subprocess.run([sys.executable, "-m", "hub", "kpi", "--hub", hub.url], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert kpi.returncode == 0, kpi.stderr
    assert "Systems connected through the LGSP" in kpi.stdout and "≥ 60.0%" in kpi.stdout
    out = tmp_path / "report.html"
    written = subprocess.run([sys.executable, "-m", "hub", "report", "--out", str(out), "--hub", hub.url],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert written.returncode == 0, written.stderr
    page = out.read_text()
    assert page.count("<svg") >= 4 and "Dossiers submitted online" in page
    assert "<script src" not in page and "<link" not in page  # self-contained: nothing fetched when opened
