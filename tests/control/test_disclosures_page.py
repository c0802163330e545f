"""A citizen's disclosures from a real hub on each broker: the JSON, the `lgsp-hub disclosures` table, the
printable page in Vietnamese and English, that page in headless Chromium; and the refusals (422, 401)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from hub.audit.disclosure_page import LABELS, render_page
from hub.core import personal_id
from hub.core.envelope import Envelope, encode
from hub.testing.samples import dossier_submitted_payload
from tests.support import ROOT
from tests.support.connectors import MOT_CUA, NDXP
from tests.support.hubs import OPERATOR, HubProcess
from tests.support.waiting import eventually

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CITIZEN = personal_id.make("052", 1990, True, 4321)
OTHER = personal_id.make("052", 1985, False, 9876)  # well formed, never sent
# Sở Tư pháp's civil-status system: receives the dossier's code and the holder's name under an agreement.
HO_TICH = {"id": "ho-tich", "name": "Phần mềm quản lý hộ tịch", "agency": "000.00.01.H22",
           "consumes": ["dossier.submitted"]}
AGREEMENT = {"id": "ho-tich-khai-sinh", "provider": MOT_CUA["id"], "consumer": HO_TICH["id"],
             "types": ["dossier.submitted"], "fields": ["/MaHoSo", "/ChuHoSo/HoVaTen"],
             "purpose": {"code": "DANG_KY_KHAI_SINH", "text": "Đăng ký khai sinh <cho con> & cấp bản sao"},
             "legal_basis": 'Nghị định 47/2020/NĐ-CP, Điều 15 "chia sẻ"',
             "valid_from": (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat(), "changed_by": "CB-01"}
WHOLE_EN = "whole message (type grant, no agreement)"


@pytest.fixture(scope="module")
def hub(tmp_path_factory, session_broker):
    process = HubProcess(tmp_path_factory.mktemp("disclosures"), session_broker.fresh()).start()
    yield process
    process.stop()


def disclosures(hub: HubProcess, who: str = CITIZEN, **headers) -> httpx.Response:
    return httpx.get(f"{hub.url}/v1/people/{who}/disclosures", headers=headers or OPERATOR, timeout=10)


def page(hub: HubProcess, who: str = CITIZEN, headers: dict | None = None, **params) -> httpx.Response:
    return httpx.get(f"{hub.url}/v1/people/{who}/disclosures/page", params=params,
                     headers=OPERATOR if headers is None else headers, timeout=10)


@pytest.fixture(scope="module")
def delivered(hub) -> dict:
    """mot-cua sends a dossier of CITIZEN; ho-tich receives two fields under AGREEMENT, NDXP the whole message
    under its type grant (and the hub's own indicators, lgsp-kpi, read it too). The disclosures once both
    deliveries are listed."""
    mot_cua = hub.register(MOT_CUA)
    hub.register(HO_TICH)
    hub.register(NDXP)
    made = httpx.post(f"{hub.url}/v1/agreements", json=AGREEMENT, headers=OPERATOR, timeout=10)
    assert made.status_code == 201, made.text
    payload = dossier_submitted_payload(personal_id=CITIZEN)
    sent = hub.publish(encode(Envelope.new("dossier.submitted", 1, MOT_CUA["id"], payload, key=payload["MaHoSo"])),
                       mot_cua)
    assert sent.status_code == 202, sent.text

    def both_listed() -> bool:
        return {row["consumer"] for row in disclosures(hub).json()["disclosures"]} >= {HO_TICH["id"], NDXP["id"]}

    asyncio.run(eventually(both_listed, what="both deliveries in the disclosures"))
    return disclosures(hub).json()


def by_consumer(report: dict) -> dict[str, dict]:
    return {row["consumer"]: row for row in report["disclosures"]}


def test_the_json_names_the_fields_and_agreement_of_each_delivery(delivered):
    rows = by_consumer(delivered)
    assert delivered["personal_id"] == CITIZEN
    assert rows["ho-tich"]["fields"] == ["/MaHoSo", "/ChuHoSo/HoVaTen"]
    assert rows["ho-tich"]["agency"] == "000.00.01.H22"
    assert rows["ho-tich"]["agreement"] == {"id": AGREEMENT["id"], "version": 1, "purpose": AGREEMENT["purpose"],
                                            "legal_basis": AGREEMENT["legal_basis"]}
    assert (rows["ndxp"]["fields"], rows["ndxp"]["agreement"]) == (None, None)  # the type grant alone


def run_command(hub: HubProcess, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hub", "disclosures", *args, "--hub", hub.url], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "400"})


def test_the_command_prints_the_agency_system_and_agreement(hub, delivered, tmp_path):
    done = run_command(hub, CITIZEN, "--lang", "en", "--html", str(tmp_path / "page.html"))
    assert done.returncode == 0, done.stderr
    assert "Sở Tư pháp (000.00.01.H22)" in done.stdout and "Phần mềm quản lý hộ tịch" in done.stdout
    assert f"{AGREEMENT['id']} (version 1)" in done.stdout and "DANG_KY_KHAI_SINH" in done.stdout
    assert WHOLE_EN in done.stdout and "When (Vietnam time)" in done.stdout
    written = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in written and CITIZEN in written


def test_the_command_without_the_token_or_with_a_wrong_id_says_why(hub, delivered):
    refused = subprocess.run([sys.executable, "-m", "hub", "disclosures", CITIZEN, "--hub", hub.url], cwd=ROOT,
                             capture_output=True, text=True, timeout=60,
                             env={k: v for k, v in os.environ.items() if k != "LGSP_OPERATOR_TOKEN"})
    assert refused.returncode == 1 and "401" in refused.stderr and "operator token" in refused.stderr
    wrong = run_command(hub, "123")
    assert wrong.returncode == 1 and "422" in wrong.stderr and "personal_id" in wrong.stderr


def test_the_page_is_in_vietnamese_by_default_and_in_english_when_asked(hub, delivered):
    vi, en = page(hub), page(hub, lang="en")
    for answer in (vi, en):
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
        assert answer.headers["cache-control"] == "no-store"  # personal data
        assert CITIZEN in answer.text and "Sở Tư pháp (000.00.01.H22)" in answer.text
        assert "&lt;cho con&gt; &amp; cấp bản sao" in answer.text and "<cho con>" not in answer.text
        assert "@media print" in answer.text and "<script" not in answer.text and "http" not in answer.text
    assert '<html lang="vi">' in vi.text and "Thông báo về việc chia sẻ dữ liệu cá nhân" in vi.text
    assert all(LABELS["vi"][label] in vi.text for label in ("agency", "fields", "agreement", "legal_basis"))
    assert LABELS["vi"]["whole"] in vi.text
    assert '<html lang="en">' in en.text and "Disclosures of personal data" in en.text
    assert all(LABELS["en"][label] in en.text for label in ("agency", "fields", "agreement", "legal_basis"))
    assert WHOLE_EN in en.text and "/MaHoSo, /ChuHoSo/HoVaTen" in en.text
    assert CITIZEN not in hub.log.read_text(encoding="utf-8")  # the path carries it: nothing logged shows it


def test_a_wrong_personal_id_is_422_and_no_token_is_401(hub):
    for answer in (disclosures(hub, "12345"), page(hub, "12345")):
        assert answer.status_code == 422
        assert answer.json()["error"]["details"][0]["field"] == "path.personal_id"
    for answer in (disclosures(hub, Authorization="Bearer wrong"), page(hub, headers={})):
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthorized"
    assert page(hub, lang="fr").status_code == 422


def test_a_citizen_never_sent_has_an_empty_page(hub, delivered):
    answer = page(hub, OTHER, lang="en")
    assert answer.status_code == 200 and LABELS["en"]["none"] in answer.text and "<table" not in answer.text


def test_times_are_vietnams_and_everything_given_is_escaped():
    report = {"personal_id": CITIZEN, "messages": 1, "disclosures": [{
        "at": "2026-12-01T17:30:00+00:00", "message_id": "m", "type": "dossier.submitted", "source": "mot-cua",
        "consumer": "x", "agency": "<A>", "system": "S & T", "fields": ["/a<b"],
        "agreement": {"id": "a", "version": 2, "purpose": {"code": "P", "text": "</td>"}, "legal_basis": '"L"'}}]}
    made = datetime(2026, 12, 1, 18, 0, tzinfo=timezone.utc)
    vi, en = render_page(report, "vi", made=made), render_page(report, "en", {"<A>": "Sở <X>"}, made)
    assert "02/12/2026 00:30:00" in vi and "02/12/2026 01:00:00" in vi  # the delivery, the page: UTC+7
    assert "2026-12-02 00:30:00" in en
    assert "&lt;A&gt;" in vi and "S &amp; T" in vi and "/a&lt;b" in vi and "&lt;/td&gt; (P)" in vi
    assert "&quot;L&quot;" in vi and "Sở &lt;X&gt; (&lt;A&gt;)" in en and "<A>" not in vi + en


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make test installs it)")
def test_chromium_renders_and_prints_the_page(hub, delivered, tmp_path):
    (tmp_path / "page.html").write_text(page(hub).text, encoding="utf-8")
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             f"--user-data-dir={tmp_path / 'profile'}"]
    url = (tmp_path / "page.html").as_uri()
    dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr
    rows = dom.stdout.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("<tr>")[1:]
    assert len(rows) == len(delivered["disclosures"])
    assert any(AGREEMENT["id"] in row and "/ChuHoSo/HoVaTen" in row for row in rows)
    printed = subprocess.run([*flags, "--no-pdf-header-footer", f"--print-to-pdf={tmp_path / 'page.pdf'}", url],
                             capture_output=True, text=True, timeout=120)
    assert printed.returncode == 0, printed.stderr
    pdf = (tmp_path / "page.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and len(pdf) > 5_000
