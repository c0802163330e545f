"""The dashboard in Debian's headless Chromium while the hub runs with its connectors.

Each card is checked against its endpoint: the test reads the JSON, formats it as the page must
(Intl's vi-VN or en-GB numbers, rounding half away from zero) and compares the card's text. The
indicators move while the simulated province works, so a check retries until page and endpoint agree.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.core.envelope import Envelope, encode
from tests.support import ROOT
from tests.support.documents import sent, status
from tests.support.hubs import OPERATOR, HubProcess
from tests.support.waiting import eventually

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Debian's chromium is not installed (make test installs it)")

# What the page must say, per language: a few of its words and its number conventions.
LANGS = {
    "vi": {"group": ".", "decimal": ",", "connTitle": "Hệ thống thông tin kết nối qua LGSP",
           "kpiOnline": "Hồ sơ nộp trực tuyến", "systems": "{}/{} hệ thống", "met": "Đạt", "notMet": "Chưa đạt",
           "sysSub": "{} đã kết nối · {} chưa kết nối",
           "latencyLegend": ["Trung vị (p50)", "Phân vị 99 (p99)"],
           "routerBehind": "Điều phối đang tụt lại", "svcTitle": "Danh mục dịch vụ",
           "svcNone": "Chưa có bộ kết nối nào cung cấp dịch vụ", "agrTitle": "Thỏa thuận chia sẻ dữ liệu",
           "docTitle": "Văn bản trao đổi giữa các cơ quan dưới dạng điện tử", "docTarget": "Chỉ tiêu ≥ {}"},
    "en": {"group": ",", "decimal": ".", "connTitle": "Information systems connected through the LGSP",
           "kpiOnline": "Dossiers filed online", "systems": "{}/{} systems", "met": "Met", "notMet": "Not met",
           "sysSub": "{} connected · {} not connected", "latencyLegend": ["Median (p50)", "99th percentile (p99)"],
           "routerBehind": "Router falling behind", "svcTitle": "Service catalog",
           "svcNone": "No connector serves a service yet", "agrTitle": "Data-sharing agreements",
           "docTitle": "Documents exchanged electronically between agencies", "docTarget": "Target ≥ {}"},
}


def integer(n: int | None, lang: str) -> str:
    return "—" if n is None else f"{n:,}".replace(",", LANGS[lang]["group"])


def percent(share: float | None, lang: str) -> str:
    """One decimal, as Intl.NumberFormat's percent style: the exact value ×100, halves away from zero."""
    if share is None:
        return "—"
    with localcontext(prec=80):
        shown = (Decimal(share) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    whole, tenth = f"{shown:.1f}".split(".")
    return f"{integer(int(whole), lang)}{LANGS[lang]['decimal']}{tenth}%"


def rate(value: float | None, lang: str) -> str:
    """As format.js's rate: no decimal from 100, one from 10, two below (the API's value as written)."""
    if value is None:
        return "—"
    digits = 0 if value >= 100 or value == 0 else 1 if value >= 10 else 2
    shown = Decimal(repr(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    whole, _, fraction = f"{shown:f}".partition(".")
    return integer(int(whole), lang) + (LANGS[lang]["decimal"] + fraction if fraction else "")


def verdict(met: bool | None, lang: str) -> str:
    return "" if met is None else LANGS[lang]["met" if met else "notMet"]


def api(hub: HubProcess, path: str) -> Any:
    return httpx.get(f"{hub.url}{path}", timeout=10).json()


async def agree(what: str, expected: Callable[[], Any], shown: Callable[[], Awaitable[Any]], tries: int = 150) -> None:
    """Page and endpoint agree at some moment (each poll of the page is up to two seconds old)."""
    for _ in range(tries):
        want, got = await asyncio.to_thread(expected), await shown()
        if want == got:
            return
        await asyncio.sleep(0.2)
    assert got == want, what


async def texts(page, selectors: dict[str, str]) -> dict[str, str]:
    return {name: (await page.locator(selector).first.text_content() or "").strip()
            for name, selector in selectors.items()}


async def check_connectivity(page, hub: HubProcess, lang: str) -> None:
    def expected() -> dict[str, Any]:
        c = api(hub, "/v1/kpi/connectivity")
        return {"share": percent(c["share"], lang), "met": verdict(c["met"], lang),
                "count": LANGS[lang]["systems"].format(integer(c["connected"], lang), integer(c["total"], lang)),
                "systems": LANGS[lang]["sysSub"].format(integer(c["connected"], lang),
                                                        integer(c["total"] - c["connected"], lang)),
                **{f"level {row['level']}": row["share"] for row in c["by_level"]}}

    async def shown() -> dict[str, Any]:
        seen: dict[str, Any] = await texts(page, {
            "share": "[data-testid=gauge-share]", "met": "[data-testid=connectivity-met]",
            "count": "[data-testid=connected-count]", "systems": "#sys-sub"})
        for row in await page.locator("[data-testid=connectivity-levels] [data-level]").all():
            value = await row.get_attribute("data-value")  # the share as the page got it, "" for none
            seen[f"level {await row.get_attribute('data-level')}"] = float(value) if value else None
        return seen
    await agree("connectivity card", expected, shown)


async def check_dossiers(page, hub: HubProcess, lang: str) -> None:
    def expected() -> dict[str, str]:
        d = api(hub, "/v1/kpi/dossiers")
        c = d["cumulative"]
        return {"online": percent(c["online_share"], lang), "online met": verdict(c["online_met"], lang),
                "signed": percent(c["signed_share"], lang), "signed met": verdict(c["signed_met"], lang),
                "on time": percent(c["on_time_share"], lang), "late": percent(c["late_share"], lang),
                "received": integer(c["received"], lang),
                "worst agency": d["late_by_agency"][0]["agency"] if d["late_by_agency"] else "",
                "its late": integer(d["late_by_agency"][0]["late"], lang) if d["late_by_agency"] else ""}

    async def shown() -> dict[str, str]:
        worst = page.locator("[data-testid=late-agencies] tbody tr").first
        return {**await texts(page, {
            "online": "[data-testid=online-share]", "online met": "#kpi-online [data-role=met]",
            "signed": "[data-testid=signed-share]", "signed met": "#kpi-signed [data-role=met]",
            "on time": "#kpi-ontime [data-role=value]", "late": "[data-testid=late-share]",
            "received": "[data-testid=dossiers-received]", "its late": "[data-testid=late-agencies] tbody td.num"}),
            "worst agency": await worst.get_attribute("data-agency") or ""}
    await agree("dossier tiles and late agencies", expected, shown)


async def check_platform(page, hub: HubProcess, lang: str) -> None:
    await agree("dead letters", lambda: integer(api(hub, "/v1/dlq/summary")["total"], lang),
                lambda: page.get_by_test_id("dlq-count").text_content())
    await agree("connectors table", lambda: sorted(api(hub, "/v1/connectors?expand=info")),
                lambda: page.eval_on_selector_all("[data-testid=connectors-table] [data-connector-id]",
                                                  "rows => rows.map(r => r.dataset.connectorId).sort()"))


async def check_services(page, hub: HubProcess, lang: str) -> None:
    """The services card lists the catalog in its order, each service with the figures of its calls."""
    def expected() -> list[dict[str, str]]:
        return [{"provider": s["provider"], "request": s["request"], "types": f"{s['request']} → {s['reply']}",
                 "calls": integer(s["calls"], lang), "failures": integer(s["failures"], lang),
                 "p50": rate(s["p50_ms"], lang), "p99": rate(s["p99_ms"], lang), "schema": s["schemas"]["request"]}
                for s in api(hub, "/v1/services")]
    await agree("services card", expected, lambda: page.eval_on_selector_all(
        "[data-testid=services-table] tr[data-provider]", """rows => rows.map((r) => ({
          provider: r.dataset.provider, request: r.dataset.service,
          types: r.querySelector('[data-role=types]').textContent, calls: r.cells[2].textContent,
          failures: r.cells[3].textContent, p50: r.cells[4].textContent, p99: r.cells[5].textContent,
          schema: r.querySelector('[data-testid=service-schema]')?.getAttribute('href') ?? '' }))"""))


async def check_log_lag(page, hub: HubProcess, lang: str) -> None:
    """Beside the throughput: the log indexer's lag, a number while it runs in the hub process."""
    def expected() -> str:
        indexer = api(hub, "/v1/stats/throughput")["log_indexer"]
        assert indexer["running"], indexer
        return integer(indexer["lag"], lang)
    await agree("message log lag", expected, lambda: page.get_by_test_id("log-lag").text_content())
    assert (await page.get_by_test_id("log-lag").get_attribute("data-value")) != ""


async def check_latency(page, hub: HubProcess, lang: str) -> None:
    """The latency chart draws p50 and p99, with their legend in the page's language."""
    for series in ("p50", "p99"):
        await page.wait_for_function(
            f"(document.querySelector('[data-testid=latency-chart] path[data-series={series}]')"
            "?.getAttribute('d') || '').length > 0", timeout=30_000)
    items = page.locator("[data-testid=latency-legend] .legend-item")
    legend = [text.strip() for text in await items.all_text_contents()]
    assert legend == LANGS[lang]["latencyLegend"]


async def check_behind(page, hub: HubProcess, lang: str) -> None:
    """The "behind" badge shows exactly when the API says the router is behind."""
    await agree("behind badge", lambda: api(hub, "/v1/stats/throughput")["behind"],
                lambda: page.get_by_test_id("router-behind").is_visible())


async def browse(hub: HubProcess):
    from playwright.async_api import async_playwright

    playwright = await async_playwright().start()
    browser = await playwright.chromium.launch(
        executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                        "--disable-component-update", "--disable-sync", "--no-first-run"])
    page = await browser.new_page(viewport={"width": 1440, "height": 1000})
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    await page.goto(hub.url + "/")
    return playwright, browser, page


@pytest.fixture(scope="module")
def province_hub(tmp_path_factory, session_broker):
    hub = HubProcess(tmp_path_factory.mktemp("dashboard"), session_broker.fresh(), LGSP_STUBS="true", LGSP_SPEED="7200",
                     LGSP_VOLUME="0.3").start(timeout=120)
    yield hub
    hub.stop()


async def test_dashboard_shows_the_live_province(province_hub):
    from playwright.async_api import async_playwright

    hub = province_hub
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = await browser.new_page(viewport={"width": 1440, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            await page.goto(hub.url + "/")
            gauge = page.get_by_test_id("gauge-share")
            await gauge.wait_for()
            await page.wait_for_function(
                "document.querySelector('[data-testid=gauge-share]').dataset.value !== undefined")

            # The gauge shows the share the API reports (connectivity is stable once every adapter beats).
            async def gauge_matches_api() -> bool:
                shown = await gauge.get_attribute("data-value")  # empty until the first heartbeats arrive
                share = httpx.get(f"{hub.url}/v1/kpi/connectivity").json()["share"]
                return shown != "" and share is not None and abs(float(shown) - share) < 1e-9
            for _ in range(50):
                if await gauge_matches_api():
                    break
                await page.wait_for_timeout(200)
            assert await gauge_matches_api()

            table = page.get_by_test_id("connectors-table")
            for connector in ("mot-cua", "csdl-dan-cu", "ndxp"):
                await table.locator(f"[data-connector-id='{connector}']").wait_for()

            # The throughput chart redraws while traffic flows.
            routed = page.locator("[data-testid=throughput-chart] path[data-series=routed]")
            await routed.wait_for(state="attached")
            first = await routed.get_attribute("d")
            await page.wait_for_function(
                "(before) => document.querySelector('[data-testid=throughput-chart] path[data-series=routed]')"
                ".getAttribute('d') !== before", arg=first, timeout=30_000)

            # Vietnamese by default; every card shows its endpoint's figures, formatted the Vietnamese way.
            assert await page.get_attribute("html", "lang") == "vi"
            for check in (check_connectivity, check_dossiers, check_platform, check_log_lag, check_latency,
                          check_behind):
                await check(page, hub, "vi")

            await page.get_by_test_id("lang-switch").click()
            assert await page.get_attribute("html", "lang") == "en"
            labels = await texts(page, {"connTitle": "[data-i18n=connTitle]", "kpiOnline": "[data-i18n=kpiOnline]"})
            assert labels == {key: LANGS["en"][key] for key in labels}
            for check in (check_connectivity, check_dossiers, check_log_lag, check_latency, check_behind):
                await check(page, hub, "en")
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        finally:
            await browser.close()
    assert errors == []
    await eventually(lambda: (ARTIFACTS / "dashboard.png").stat().st_size > 10_000, what="the screenshot")


LAND_REGISTRY = {"id": "dat-dai", "name": "CSDL đất đai", "agency": "000.01.04.H22",
                 "consumes": ["land.parcel.request"], "produces": ["land.parcel.reply"],
                 "serves": [{"request": "land.parcel.request", "reply": "land.parcel.reply"}]}
VERIFYING_CLERK = {"id": "mot-cua-http", "name": "Một cửa (HTTP)", "agency": "000.00.01.H22",
                   "produces": ["citizen.verify.request"], "consumes": ["citizen.verify.reply"]}


def verify_citizen(hub: HubProcess, clerk) -> httpx.Response:
    """One citizen verification through POST /v1/services, answered by the province's population stub."""
    raw = encode(Envelope.new("citizen.verify.request", 1, VERIFYING_CLERK["id"], {
        "MaYeuCau": "YC-1", "MaDichVu": "XAC_THUC", "MaCanBo": "CB-1", "SoDinhDanh": "052085000123",
        "HoVaTen": "Lê Văn An"}, target="csdl-dan-cu"))
    return httpx.post(f"{hub.url}/v1/services/csdl-dan-cu/citizen.verify.request", content=raw, timeout=60,
                      headers={"content-type": "application/json", **clerk.http_headers(raw)})


async def test_the_services_card_lists_each_service_and_counts_its_calls(province_hub):
    hub = province_hub
    hub.register(LAND_REGISTRY)  # registered only: listed, never called
    clerk = hub.register(VERIFYING_CLERK)
    playwright, browser, page = await browse(hub)
    try:
        land = page.locator("[data-testid=services-table] tr[data-provider=dat-dai]")
        await land.wait_for()
        assert [(await land.locator("td").nth(i).text_content() or "").strip() for i in (2, 4, 5)] == ["0", "—", "—"]
        await check_services(page, hub, "vi")
        # a provider not yet running is refused (503): wait until the page shows it running
        await page.locator("[data-testid=connectors-table] tr[data-connector-id=csdl-dan-cu][data-state=RUNNING]"
                           ).wait_for(timeout=120_000)
        assert (await asyncio.to_thread(verify_citizen, hub, clerk)).status_code == 200
        await page.wait_for_function("document.querySelector('[data-testid=services-table] "
                                     "tr[data-provider=csdl-dan-cu] td:nth-child(3)')?.textContent === '1'",
                                     timeout=30_000)  # the row is redrawn each poll: read it afresh
        await check_services(page, hub, "vi")
        await page.get_by_test_id("lang-switch").click()
        assert (await page.locator("[data-i18n=svcTitle]").text_content()) == LANGS["en"]["svcTitle"]
        await check_services(page, hub, "en")
        assert page.errors == []
    finally:
        await browser.close()
        await playwright.stop()


LAND_CLERK = {"id": "mot-cua-dat", "name": "Một cửa (tra cứu đất)", "agency": "000.00.01.H22",
              "produces": ["land.parcel.request"]}
LAND_SHARING = {"id": "dat-dai-tra-cuu", "provider": "mot-cua-dat", "consumer": "dat-dai",
                "types": ["land.parcel.request"], "fields": ["/MaYeuCau", "/MaXa", "/SoToBanDo", "/SoThua"],
                "purpose": {"code": "TRA_CUU_DAT", "text": "Tra cứu thửa đất khi giải quyết hồ sơ"},
                "legal_basis": "Nghị định 47/2020/NĐ-CP, Điều 15", "valid_from": "2024-01-01T00:00:00+07:00",
                "changed_by": "e2e"}
LAND_ARCHIVE = {"id": "luu-tru-dat", "name": "Lưu trữ đất đai", "agency": "000.01.04.H22",
                "consumes": ["land.parcel.request"]}  # no agreement governs what it receives
AGREEMENTS_TABLE = "[data-testid=agreements-table]"


def land_lookup(request: str, **fields: Any) -> bytes:
    return encode(Envelope.new("land.parcel.request", 1, LAND_CLERK["id"], {
        "MaYeuCau": request, "MaXa": "21550", "SoToBanDo": 12, "SoThua": 345}, **fields))


def withheld_metric(hub: HubProcess) -> float:
    """lgsp_deliveries_withheld_total of the land lookup, over the hub process and its router workers."""
    labels = ('type="land.parcel.request"', 'source="mot-cua-dat"', 'consumer="dat-dai"')
    workers = api(hub, "/v1/health").get("router_workers") or []
    lines = [line for url in [f"{hub.url}/metrics", *(w["metrics"] for w in workers)]
             for line in httpx.get(url, timeout=10).text.splitlines()]
    return sum(float(line.split()[-1]) for line in lines
               if line.startswith("lgsp_deliveries_withheld_total{") and all(label in line for label in labels))


async def check_agreements(page, hub: HubProcess, lang: str) -> None:
    """The agreements card shows the API's rows in its order, each withheld count formatted and highlighted."""
    def expected() -> list[dict[str, Any]]:
        return [{"connector": row["id"], "in force": [a["id"] for a in row["in_force"]],
                 "not in force": [f"{a['id']}/{a['state']}" for a in row["not_in_force"]],
                 "withheld": integer(row["withheld"], lang), "alert": "true" if row["alert"] else "false"}
                for row in api(hub, "/v1/stats/agreements")["connectors"]]
    await agree("agreements card", expected, lambda: page.eval_on_selector_all(
        f"{AGREEMENTS_TABLE} tr[data-connector]", """rows => rows.map((r) => ({
          connector: r.dataset.connector,
          'in force': [...r.querySelectorAll('[data-role=in-force] [data-agreement]')].map((c) => c.dataset.agreement),
          'not in force': [...r.querySelectorAll('[data-role=not-in-force] [data-agreement]')]
            .map((c) => `${c.dataset.agreement}/${c.dataset.state}`),
          withheld: r.querySelector('[data-testid=agreement-withheld]').textContent,
          alert: String(r.querySelector('[data-testid=agreement-withheld]').classList.contains('txt-notmet')) }))"""))


async def test_the_agreements_card_shows_each_agreement_and_the_deliveries_withheld(province_hub):
    """An agreement in force shows on both parties' rows; once ended, the messages its provider sends the
    consumer are withheld (refused at the edge, or routed to others but not to it), and the consumer's row
    counts them, highlighted, first."""
    hub = province_hub
    hub.register(LAND_REGISTRY)
    hub.register(LAND_ARCHIVE)
    clerk = hub.register(LAND_CLERK)
    made = httpx.post(f"{hub.url}/v1/agreements", json=LAND_SHARING, headers=OPERATOR, timeout=30)
    assert made.status_code == 201, made.text
    playwright, browser, page = await browse(hub)
    try:
        consumer = page.locator(f"{AGREEMENTS_TABLE} tr[data-connector=dat-dai]")
        await consumer.locator("[data-role=in-force] [data-agreement=dat-dai-tra-cuu][data-role=consumer]").wait_for()
        await page.locator(f"{AGREEMENTS_TABLE} tr[data-connector=mot-cua-dat] [data-role=in-force] "
                           "[data-agreement=dat-dai-tra-cuu][data-role=provider]").wait_for()
        assert (await page.locator("[data-i18n=agrTitle]").text_content()) == LANGS["vi"]["agrTitle"]
        await check_agreements(page, hub, "vi")

        ended = httpx.post(f"{hub.url}/v1/agreements/dat-dai-tra-cuu/end", json={"changed_by": "e2e"},
                           headers=OPERATOR, timeout=30)
        assert ended.status_code == 200 and ended.json()["in_force"] is False, ended.text
        # to dat-dai alone: refused whole at the HTTP edge; to every subscriber: routed, dat-dai's share withheld
        refused = await asyncio.to_thread(hub.publish, land_lookup("YC-DAT-1", target="dat-dai"), clerk)
        assert refused.status_code == 422 and refused.json()["error"]["details"]["errors"][0]["rule"] == "agreement", \
            refused.text
        routed = await asyncio.to_thread(hub.publish, land_lookup("YC-DAT-2"), clerk)
        assert routed.status_code == 202 and routed.json()["targets"] == [LAND_ARCHIVE["id"]], routed.text
        await consumer.locator("[data-role=not-in-force] [data-agreement=dat-dai-tra-cuu][data-state=ended]").wait_for()
        await page.wait_for_function(
            f"Number(document.querySelector('{AGREEMENTS_TABLE} tr[data-connector=dat-dai] "
            "[data-testid=agreement-withheld]')?.dataset.value) >= 2", timeout=30_000)
        assert await consumer.get_attribute("data-alert") == "true"
        await check_agreements(page, hub, "vi")
        await eventually(lambda: withheld_metric(hub) >= 1, 30, "lgsp_deliveries_withheld_total counted")

        await page.get_by_test_id("lang-switch").click()
        assert (await page.locator("[data-i18n=agrTitle]").text_content()) == LANGS["en"]["agrTitle"]
        await check_agreements(page, hub, "en")
        assert page.errors == []
    finally:
        await browser.close()
        await playwright.stop()


async def test_the_behind_badge_shows_while_the_router_lag_grows(tmp_path, session_broker):
    """No router: while messages keep arriving the lag grows and the badge shows; once they stop, the lag
    holds and the badge goes once the (short) window has passed."""
    from hub.testing.samples import dossier_submitted
    from tests.support.connectors import MOT_CUA

    hub = HubProcess(tmp_path, session_broker.fresh(), LGSP_ROUTER="false", LGSP_ROUTER_BEHIND_SECONDS="4",
                     LGSP_ROUTER_BEHIND_MESSAGES="5").start()
    playwright, browser, page = None, None, None
    stop, sent = asyncio.Event(), []

    async def send() -> None:
        while not stop.is_set():
            raw = encode(dossier_submitted(counter=len(sent)))
            assert (await asyncio.to_thread(hub.publish, raw, key)).status_code == 202
            sent.append(raw)

    try:
        key = hub.register(MOT_CUA)
        playwright, browser, page = await browse(hub)
        badge = page.get_by_test_id("router-behind")
        await eventually(lambda: api(hub, "/v1/stats/throughput")["router_lag"] == 0, 120, "the lag measured")
        await check_behind(page, hub, "vi")
        assert not await badge.is_visible()
        # no connector of this hub serves a service: the services card says so
        await page.get_by_test_id("services-empty").filter(has_text=LANGS["vi"]["svcNone"]).wait_for()
        sending = asyncio.create_task(send())
        try:
            await eventually(lambda: api(hub, "/v1/stats/throughput")["behind"], 120, "the router behind")
            await badge.wait_for(state="visible", timeout=30_000)
            assert (await badge.text_content() or "").strip() == LANGS["vi"]["routerBehind"]
            await page.get_by_test_id("lang-switch").click()
            assert (await badge.text_content() or "").strip() == LANGS["en"]["routerBehind"]
        finally:
            stop.set()
            await sending
        await eventually(lambda: api(hub, "/v1/stats/throughput")["router_lag"] == len(sent), 120,
                         "every message counted in the lag")
        await badge.wait_for(state="hidden", timeout=60_000)  # a lag that holds is not a router falling behind
        await check_behind(page, hub, "en")
        assert page.errors == []
    finally:
        if browser is not None:
            await browser.close()
        if playwright is not None:
            await playwright.stop()
        hub.stop()


JUSTICE, PLANNING = "000.00.01.H22", "000.00.02.H22"  # Sở Tư pháp, Sở Kế hoạch và Đầu tư
OFFICE_A = {"id": "vpdt-stp", "name": "Văn phòng điện tử Sở Tư pháp", "agency": JUSTICE,
            "produces": ["document.sent"], "consumes": ["document.status"]}
OFFICE_B = {"id": "vpdt-skhdt", "name": "Văn phòng điện tử Sở KH&ĐT", "agency": PLANNING,
            "produces": ["document.status"], "consumes": ["document.sent"]}


def target(share: float, lang: str) -> str:
    """As format.js's target: a share without useless decimals (0.9 → 90%)."""
    return percent(share, lang).replace(f"{LANGS[lang]['decimal']}0%", "%")


async def check_documents(page, hub: HubProcess, lang: str) -> None:
    """The documents card: the share and its verdict, a bar per month with the API's verdict against the
    target, and the receiving agencies in the API's order with their late and open-late counts."""
    def expected() -> dict[str, Any]:
        d = api(hub, "/v1/kpi/documents")
        c = d["cumulative"]
        return {"share": percent(c["electronic_share"], lang), "met": verdict(c["electronic_met"], lang),
                "target": LANGS[lang]["docTarget"].format(target(c["electronic_target"], lang)),
                "months": [[m["month"], m["share"], str(m["met"]).lower()] for m in d["monthly"]],
                "agencies": [[r["agency"], integer(r["processed"], lang), integer(r["late"], lang),
                              integer(r["days_late_max"], lang) if r["late"] else "—", integer(r["open"], lang),
                              integer(r["open_late"], lang)] for r in d["late_by_agency"]]}

    async def shown() -> dict[str, Any]:
        return {**await texts(page, {"share": "[data-testid=documents-share]", "met": "[data-testid=documents-met]",
                                     "target": "[data-testid=documents-chart] .target-label"}),
                "months": await page.eval_on_selector_all(
                    "[data-testid=documents-chart] g[data-period]",
                    "groups => groups.map((g) => [g.dataset.period, Number(g.dataset.value), g.dataset.met])"),
                "agencies": await page.eval_on_selector_all(
                    "[data-testid=documents-agencies] tr[data-agency]",
                    "rows => rows.map((r) => [r.dataset.agency, ...[...r.cells].slice(1).map((c) => c.textContent)])")}
    await agree("documents card", expected, shown)


def figures(d: dict[str, Any]) -> dict[str, Any]:
    """The electronic share and its verdict, each month's, and per receiver: processed, late, most days late,
    open, open late."""
    return {"share": (d["cumulative"]["electronic_share"], d["cumulative"]["electronic_met"]),
            "months": [(m["month"], m["share"], m["met"]) for m in d["monthly"]],
            "receivers": [(r["agency"], r["processed"], r["late"], r["days_late_max"], r["open"], r["open_late"])
                          for r in d["late_by_agency"]]}


async def test_the_documents_card_shows_the_electronic_share_and_the_late_receivers(tmp_path, session_broker):
    """Two documents from Sở Tư pháp to Sở KH&ĐT, one electronic (September) and one on paper (October); the
    first completed two days after its due date, the second still in progress past it."""
    hub = HubProcess(tmp_path, session_broker.fresh()).start()
    playwright, browser, page = None, None, None
    try:
        keys = {spec["id"]: hub.register(spec) for spec in (OFFICE_A, OFFICE_B)}
        playwright, browser, page = await browse(hub)
        await page.locator("[data-testid=documents-agencies] .empty-row").wait_for()
        assert (await page.locator("[data-i18n=docTitle]").text_content()) == LANGS["vi"]["docTitle"]
        first = sent(JUSTICE, [PLANNING], "2023/09/04", 1, paper=0, due="2023/09/10")
        second = sent(JUSTICE, [PLANNING], "2023/10/02", 2, paper=1, due="2023/10/05")
        for source, to, type, payload in (
                (OFFICE_A, OFFICE_B, "document.sent", first), (OFFICE_A, OFFICE_B, "document.sent", second),
                (OFFICE_B, OFFICE_A, "document.status", status(PLANNING, first, "06", "2023/09/12 09:00:00")),
                (OFFICE_B, OFFICE_A, "document.status", status(PLANNING, second, "05", "2023/10/08 09:00:00"))):
            raw = encode(Envelope.new(type, 1, source["id"], payload, target=to["id"]))
            assert (await asyncio.to_thread(hub.publish, raw, keys[source["id"]])).status_code == 202
        await eventually(lambda: figures(api(hub, "/v1/kpi/documents")) == {
            "share": (0.5, False), "months": [("2023-09", 1.0, True), ("2023-10", 0.0, False)],
            "receivers": [(PLANNING, 1, 1, 2, 1, 1)]}, 120, "both documents and their statuses counted")
        await check_documents(page, hub, "vi")
        await page.get_by_test_id("lang-switch").click()
        assert (await page.locator("[data-i18n=docTitle]").text_content()) == LANGS["en"]["docTitle"]
        await check_documents(page, hub, "en")
        assert page.errors == []
    finally:
        if browser is not None:
            await browser.close()
        if playwright is not None:
            await playwright.stop()
        hub.stop()
