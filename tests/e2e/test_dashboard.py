"""The dashboard in Debian's headless Chromium while the hub runs with its connectors."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from tests.support import ROOT
from tests.support.hubs import HubProcess
from tests.support.waiting import eventually

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Debian's chromium is not installed (make test installs it)")


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

            await page.get_by_test_id("lang-switch").click()
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        finally:
            await browser.close()
    assert errors == []
    await eventually(lambda: (ARTIFACTS / "dashboard.png").stat().st_size > 10_000, what="the screenshot")
