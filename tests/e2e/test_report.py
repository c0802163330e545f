"""The HTML report: one file, its charts drawn by the dashboard's chart module, opened from disk in Chromium;
and the indicators as the report and the dashboard receive them, every verdict and order already decided."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hub.operator.kpi.display import connectivity_shown, documents_shown, dossiers_shown
from hub.operator.report import CHARTS, render_report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

A, B = "000.00.01.H22", "000.02.22.H22"
CONNECTIVITY = connectivity_shown({
    "province": {"name": "Bình Định", "code": "52"}, "as_of": "2023-09-06T10:00:00+07:00",
    "share": 0.5, "target": 0.6, "met": False, "connected": 2, "total": 4,
    "by_level": [{"level": "province", "connected": 2, "total": 3, "share": 2 / 3},
                 {"level": "district", "connected": 0, "total": 1, "share": 0.0}],
    "by_agency": [{"agency": A, "name": "Sở Tư pháp", "connected": 2, "total": 3, "share": 2 / 3},
                  {"agency": B, "name": "UBND xã Nhơn Phong", "connected": 0, "total": 1, "share": 0.0}],
    "systems": [{"id": "ho-tich", "owner": A, "level": "province", "connected": True},
                {"id": "mot-cua", "owner": A, "level": "province", "connected": False},
                {"id": "mot-cua-xa", "owner": B, "level": "district", "connected": False},
                {"id": "ly-lich", "owner": "000.99.99.H22", "level": "province", "connected": True}],
})
HISTORY = {"target": 0.6, "points": [
    {"at": "2023-09-04T00:00:00+00:00", "share": 0.25, "connected": 1, "total": 4},
    {"at": "2023-09-05T00:00:00+00:00", "share": 0.5, "connected": 2, "total": 4},
]}
DAY = {"online": 1, "online_share": 0.25, "completed": 2, "on_time": 1, "late": 1, "late_share": 0.5,
       "results": 2, "signed": 2, "signed_share": 1.0}
DOSSIERS = dossiers_shown({
    "as_of": "2023-09-05T17:00:00+07:00",
    "cumulative": {"received": 8, "online": 2, "online_share": 0.25, "online_target": 0.3, "online_met": False,
                   "completed": 4, "on_time": 2, "late": 2, "late_share": 0.5, "open": 4, "open_late": 1,
                   "results": 4, "signed": 4, "signed_share": 1.0, "signed_target": 1.0, "signed_met": True},
    "daily": [{"day": "2023-09-04", "received": 4, **DAY}, {"day": "2023-09-05", "received": 4, **DAY}],
    "late_by_agency": [{"agency": "000.00.01.H22", "name": "Sở Tư pháp </script>", "completed": 4, "late": 2,
                        "late_share": 0.5, "open_late": 1}],
})
DOCUMENTS = documents_shown({
    "as_of": "2023-10-07T09:00:00+07:00",
    "cumulative": {"documents": 4, "electronic": 3, "electronic_share": 0.75, "electronic_target": 0.9,
                   "electronic_met": False, "revoked": 1, "processed": 2, "on_time": 1, "late": 1, "refused": 0,
                   "open": 1, "open_late": 1},
    "monthly": [{"month": "2023-09", "documents": 2, "electronic": 1, "share": 0.5, "met": False},
                {"month": "2023-10", "documents": 2, "electronic": 2, "share": 1.0, "met": True}],
    "by_sender": [{"agency": A, "name": "Sở Tư pháp", "documents": 4, "electronic": 3, "share": 0.75, "met": False}],
    "late_by_agency": [{"agency": B, "name": "UBND xã <b>Nhơn Phong</b>", "processed": 2, "on_time": 1, "late": 1,
                        "refused": 0, "days_late": 2, "days_late_max": 2, "open": 1, "open_late": 1}],
})


def test_each_level_has_its_verdict_and_every_level_is_listed() -> None:
    assert [(row["level"], row["met"]) for row in CONNECTIVITY["by_level"]] == [
        ("province", True), ("district", False), ("commune", None)]  # no commune system: nothing to judge
    assert CONNECTIVITY["by_level"][2] == {"level": "commune", "connected": 0, "total": 0, "share": None, "met": None}
    assert CONNECTIVITY["met"] is False and CONNECTIVITY["near_target"] is False  # 50% is below 85% of 60%
    assert connectivity_shown({"share": 0.55, "target": 0.6, "met": False})["near_target"] is True


def test_systems_still_to_connect_come_first_with_their_owners_name() -> None:
    assert [(s["id"], s["owner_name"]) for s in CONNECTIVITY["systems"]] == [
        ("mot-cua", "Sở Tư pháp"), ("mot-cua-xa", "UBND xã Nhơn Phong"), ("ho-tich", "Sở Tư pháp"),
        ("ly-lich", "000.99.99.H22")]  # an owner outside the agency list keeps its code


def test_documents_carry_their_verdict_only_once_there_is_a_share() -> None:
    assert DOCUMENTS["cumulative"]["electronic_met"] is False and DOCUMENTS["cumulative"]["on_time_share"] == 0.5
    assert DOCUMENTS["late_by_agency"][0]["on_time_share"] == 0.5
    nothing = documents_shown({"cumulative": {"documents": 0, "electronic_share": None, "electronic_target": 0.9,
                                              "electronic_met": False}})
    assert nothing["cumulative"]["electronic_met"] is None


def test_the_on_time_share_is_sent_beside_the_late_one() -> None:
    assert (DOSSIERS["cumulative"]["on_time_share"], DOSSIERS["cumulative"]["late_share"]) == (0.5, 0.5)
    assert dossiers_shown({"cumulative": {"completed": 0, "on_time": 0}})["cumulative"]["on_time_share"] is None


@pytest.fixture(scope="module")
def report() -> str:
    return render_report(CONNECTIVITY, HISTORY, DOSSIERS, DOCUMENTS)


def test_the_report_is_one_file_with_tables_and_no_chart_engine_of_its_own(report: str) -> None:
    assert "<script src" not in report and "<link" not in report and "import " not in report
    assert report.count('<script type="module">') == 1
    markup = report.split("<script", 1)[0]
    assert "Dossiers submitted online" in markup and "Sở Tư pháp &lt;/script&gt;" in markup
    assert "Documents exchanged electronically" in markup and "75.0% (3/4)" in markup
    assert "UBND xã &lt;b&gt;Nhơn Phong&lt;/b&gt;" in markup  # the receivers' table, escaped
    assert markup.count("<svg") == len(CHARTS) and "<path" not in markup  # the marks are drawn by charts.js


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make test installs it)")
async def test_chromium_draws_every_chart_from_the_file(report: str, tmp_path) -> None:
    from playwright.async_api import async_playwright

    page_file = tmp_path / "report.html"
    page_file.write_text(report, encoding="utf-8")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = await browser.new_page(viewport={"width": 1000, "height": 900})
        errors: list[str] = []
        requests: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda request: requests.append(request.url))
        try:
            await page.goto(page_file.as_uri())
            await page.locator("svg[data-chart=signed] path.series-line").wait_for(state="attached")
            drawn = {chart: await page.locator(f"svg[data-chart={chart}] path.series-line, "
                                               f"svg[data-chart={chart}] g[data-day], "
                                               f"svg[data-chart={chart}] g[data-period]").count() for chart, _ in CHARTS}
            months = await page.eval_on_selector_all("svg[data-chart=documents] g[data-period]",
                                                     "groups => groups.map((g) => [g.dataset.period, g.dataset.met])")
            targets = await page.locator("svg[data-chart] .target-label").all_text_contents()
        finally:
            await browser.close()
    assert errors == [] and len(requests) == 1  # the file itself, nothing else
    assert drawn == {"connectivity": 1, "received": 2, "online": 1, "late": 1, "signed": 1, "documents": 2}
    assert months == [["2023-09", "false"], ["2023-10", "true"]]
    assert sorted(targets) == ["target 100%", "target 30%", "target 60%", "target 90%"]
