"""The operator's view of routing done in another process: throughput, latency, last seen, the router's lag.

The hub runs without its own router (LGSP_ROUTER=false) and with a short "behind" window; a `lgsp-hub router`
worker is started once messages have piled up. Everything the view shows comes from the decisions topic and
the router group's offsets, so it counts what the worker routed and what the HTTP edge refused.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from hub.core.envelope import Envelope, encode
from hub.testing.pytest_plugin import stop_process
from hub.testing.samples import dossier_submitted
from tests.support import ROOT, connectors
from tests.support.hubs import HubProcess
from tests.support.waiting import eventually

MOT_CUA = {**connectors.MOT_CUA, "systems": ["mot-cua"]}
THRESHOLD = 5  # LGSP_ROUTER_BEHIND_MESSAGES
TIMEOUT = 120.0  # a router group join takes seconds on tansu


@pytest.fixture(scope="module")
def hub(tmp_path_factory, session_broker):
    process = HubProcess(tmp_path_factory.mktemp("routing-view"), session_broker.fresh(), LGSP_ROUTER="false",
                         LGSP_ROUTER_BEHIND_SECONDS="4", LGSP_ROUTER_BEHIND_MESSAGES=str(THRESHOLD)).start()
    process.mot_cua_key = process.register(MOT_CUA)
    yield process
    process.stop()


def stats(hub: HubProcess) -> dict:
    return httpx.get(f"{hub.url}/v1/stats/throughput", timeout=10).json()


def lag_gauge(hub: HubProcess) -> float | None:
    text = httpx.get(f"{hub.url}/metrics", timeout=10).text
    return next((s.value for family in text_string_to_metric_families(text) for s in family.samples
                 if s.name == "lgsp_router_lag_messages"), None)


def mot_cua_connected(hub: HubProcess) -> bool:
    systems = httpx.get(f"{hub.url}/v1/kpi/connectivity", timeout=10).json()["systems"]
    return next(s for s in systems if s["id"] == "mot-cua")["connected"]


class Sender:
    """Publishes valid dossiers over HTTP until stopped, counting them."""

    def __init__(self, hub: HubProcess) -> None:
        self.hub, self.sent, self._stop = hub, 0, asyncio.Event()

    async def run(self) -> None:
        while not self._stop.is_set():
            raw = encode(dossier_submitted(counter=self.sent))
            answer = await asyncio.to_thread(self.hub.publish, raw, self.hub.mot_cua_key)
            assert answer.status_code == 202, answer.text
            self.sent += 1

    def stop(self) -> None:
        self._stop.set()


async def produce_junk(hub: HubProcess) -> None:
    """A record the router refuses (it passed no HTTP edge): neither signed nor JSON."""
    producer = AIOKafkaProducer(**hub.client)
    await producer.start()
    try:
        await producer.send_and_wait(hub.topics.ingress, b"\xff not json")
    finally:
        await producer.stop()


async def test_the_view_follows_a_router_in_another_process(hub, tmp_path):
    await eventually(lambda: stats(hub)["router_lag"] == 0, TIMEOUT, "the router's lag measured, nothing waiting")
    assert stats(hub)["behind"] is False and not mot_cua_connected(hub)

    # Messages keep arriving and no router takes them: the lag grows, and the view says the router is behind.
    sender = Sender(hub)
    sending = asyncio.create_task(sender.run())
    try:
        await eventually(lambda: stats(hub)["behind"], TIMEOUT, "the router shown behind")
    finally:
        sender.stop()
        await sending
    assert sender.sent > THRESHOLD
    await eventually(lambda: stats(hub)["router_lag"] == sender.sent, TIMEOUT, "the lag: every message sent")
    assert lag_gauge(hub) == sender.sent
    # The lag holds: once a window has passed it is no higher than a window ago, and the router is not behind.
    await eventually(lambda: not stats(hub)["behind"], TIMEOUT, "a steady lag not shown behind")
    assert stats(hub)["router_lag"] == sender.sent

    bad = Envelope.new("dossier.submitted", 1, "mot-cua", {"MaHoSo": "x"})
    refused_at_edge = 3
    for _ in range(refused_at_edge):
        assert hub.publish(encode(bad), hub.mot_cua_key).status_code == 422
    await produce_junk(hub)

    with open(tmp_path / "router.log", "wb") as log:
        worker = subprocess.Popen([sys.executable, "-m", "hub", "router"], env=hub.env, cwd=ROOT, stdout=log,
                                  stderr=subprocess.STDOUT)
    try:
        def counted() -> tuple[int, int]:
            points = stats(hub)["points"]
            return sum(p["routed"] for p in points), sum(p["rejected"] for p in points)
        await eventually(lambda: counted() == (sender.sent, refused_at_edge + 1), TIMEOUT,
                         "the view to count what the worker routed and refused, and the edge refused")
        await eventually(lambda: stats(hub)["router_lag"] == 0, TIMEOUT, "the lag worked off")
        view = stats(hub)
        assert view["behind"] is False
        timed = [p for p in view["points"] if p["routed"]]
        assert timed and all(p["p50_ms"] is not None and p["p50_ms"] <= p["p95_ms"] <= p["p99_ms"] for p in timed)
        await eventually(lambda: mot_cua_connected(hub), TIMEOUT, "mot-cua heard from through what the worker routed")
        assert worker.poll() is None, (tmp_path / "router.log").read_text()
    finally:
        stop_process(worker)
