"""The document indicators of a real hub process, from documents and statuses two e-office systems exchange
through it (targeted, so only the decisions topic tells the hub of them), every figure computed by hand.

  D1 Sở Tư pháp → Sở KH&ĐT  2023/09/04 electronic due 09/10  completed 09/12: 2 days late
  D2 Sở Tư pháp → Sở KH&ĐT  2023/09/20 paper      due 09/25  completed 09/22: on time
  D3 Sở KH&ĐT → Sở Tư pháp  2023/10/02 electronic due 10/05  in progress 10/07 09:00 (the latest time): open, late
  D4 Sở KH&ĐT → Sở Tư pháp  2023/10/06 electronic no due     then revoked
D1 goes out twice (a second envelope, the same document) and one status is sent twice: each counts once.
"""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hub.core.envelope import Envelope, encode
from tests.support import ROOT
from tests.support.documents import sent, status
from tests.support.hubs import HubProcess
from tests.support.waiting import eventually

A, B = "000.00.01.H22", "000.00.02.H22"  # Sở Tư pháp, Sở Kế hoạch và Đầu tư in the scenario's inventory
TYPES = ["document.sent", "document.status"]
OFFICE_A = {"id": "vpdt-stp", "name": "Văn phòng điện tử Sở Tư pháp", "agency": A, "produces": TYPES, "consumes": TYPES}
OFFICE_B = {"id": "vpdt-skhdt", "name": "Văn phòng điện tử Sở KH&ĐT", "agency": B, "produces": TYPES,
            "consumes": TYPES}
TIMEOUT = 120.0

D1 = sent(A, [B], "2023/09/04", 1, paper=0, due="2023/09/10")
D2 = sent(A, [B], "2023/09/20", 2, paper=1, due="2023/09/25")
D3 = sent(B, [A], "2023/10/02", 3, paper=0, due="2023/10/05")
D4 = sent(B, [A], "2023/10/06", 4, paper=0)

EXPECTED = {
    "as_of": "2023-10-07T09:00:00+07:00",
    "cumulative": {"documents": 4, "electronic": 3, "electronic_share": 0.75, "electronic_target": 0.9,
                   "electronic_met": False, "revoked": 1, "processed": 2, "on_time": 1, "late": 1, "refused": 0,
                   "open": 1, "open_late": 1, "on_time_share": 0.5},
    "monthly": [{"month": "2023-09", "documents": 2, "electronic": 1, "share": 0.5, "met": False},
                {"month": "2023-10", "documents": 2, "electronic": 2, "share": 1.0, "met": True}],
    "by_sender": [{"agency": A, "name": "Sở Tư pháp", "documents": 2, "electronic": 1, "share": 0.5, "met": False},
                  {"agency": B, "name": "Sở Kế hoạch và Đầu tư", "documents": 2, "electronic": 2, "share": 1.0,
                   "met": True}],
    "late_by_agency": [
        {"agency": B, "name": "Sở Kế hoạch và Đầu tư", "processed": 2, "on_time": 1, "late": 1, "refused": 0,
         "days_late": 2, "days_late_max": 2, "open": 0, "open_late": 0, "on_time_share": 0.5},
        {"agency": A, "name": "Sở Tư pháp", "processed": 0, "on_time": 0, "late": 0, "refused": 0, "days_late": 0,
         "days_late_max": 0, "open": 1, "open_late": 1, "on_time_share": None}],
}


@pytest.fixture(scope="module")
def hub(tmp_path_factory, session_broker):
    process = HubProcess(tmp_path_factory.mktemp("documents"), session_broker.fresh()).start()
    process.keys = {OFFICE_A["id"]: process.register(OFFICE_A), OFFICE_B["id"]: process.register(OFFICE_B)}
    yield process
    process.stop()


def documents(hub: HubProcess) -> dict:
    return httpx.get(f"{hub.url}/v1/kpi/documents", timeout=10).json()


def send(hub: HubProcess, source: str, target: str, type: str, payload: dict) -> None:
    """One message from `source` to `target` alone, signed by the source, keyed by its document."""
    document = payload.get("DocumentId") or payload["ResponseFor"]["DocumentId"]
    raw = encode(Envelope.new(type, 1, source, payload, target=target, key=document))
    answer = hub.publish(raw, hub.keys[source])
    assert answer.status_code == 202 and answer.json()["targets"] == [target], answer.text


def sends(hub: HubProcess) -> None:
    a, b = OFFICE_A["id"], OFFICE_B["id"]
    for document in (D1, D1, D2):
        send(hub, a, b, "document.sent", document)
    for document in (D3, D4, sent(B, [A], "2023/10/06", 4, paper=0, kind=1)):
        send(hub, b, a, "document.sent", document)
    for source, target, payload in ((b, a, status(B, D1, "06", "2023/09/12 15:00:00")),
                                    (b, a, status(B, D2, "06", "2023/09/22 10:00:00")),
                                    (b, a, status(B, D2, "06", "2023/09/22 10:00:00")),
                                    (a, b, status(A, D3, "05", "2023/10/07 09:00:00"))):
        send(hub, source, target, "document.status", payload)


def gauge(hub: HubProcess, name: str) -> float | None:
    text = httpx.get(f"{hub.url}/metrics", timeout=10).text
    return next((s.value for family in text_string_to_metric_families(text) for s in family.samples
                 if s.name == name), None)


async def test_the_indicators_count_the_documents_the_hub_routed(hub):
    before = documents(hub)
    assert before["cumulative"]["documents"] == 0 and before["cumulative"]["electronic_met"] is None
    sends(hub)
    await eventually(lambda: documents(hub) == EXPECTED, TIMEOUT, "the documents routed, counted once each")
    assert gauge(hub, "lgsp_documents_electronic_ratio") == 0.75
    assert gauge(hub, "lgsp_documents_open_late") == 1

    kpi = subprocess.run([sys.executable, "-m", "hub", "kpi", "--hub", hub.url], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})  # no row wrapped
    assert kpi.returncode == 0, kpi.stderr
    assert "Documents exchanged electronically" in kpi.stdout and "75.0% (3/4)" in kpi.stdout
    assert "Documents processed by receiving agency" in kpi.stdout and "000.00.02.H22" in kpi.stdout
