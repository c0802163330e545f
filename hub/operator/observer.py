"""The operator's view, refreshed every couple of seconds off the routing path.

It keeps the latest connector statuses (state, lag), the throughput and latency of the last minutes (from
the decisions topic, hub.operator.routing_watch, whichever processes route) with the router's lag beside
them (hub.operator.router_lag), the connectivity indicator with its history on the simulated clock, and the
dossier indicators, which it computes from the `dossier.*` messages the hub routes: the hub subscribes to
them as connector `lgsp-kpi`, like any other receiver. The document indicators come from the decisions
topic instead: `document.*` messages are targeted at one connector each, so no subscriber receives them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from statistics import quantiles
from typing import Any

from hub.core.clock import Clock
from hub.core.deadlines import DOSSIER_TYPES
from hub.core.inventory import Inventory
from hub.operator.kpi.connectivity import connectivity, projection
from hub.operator.kpi.documents import DOCUMENT_TYPES, DocumentIndicators
from hub.operator.kpi.dossiers import DossierIndicators
from hub.operator.router_lag import LagTrend, RouterLag
from hub.operator.routing_watch import RoutingWatch
from hub.sdk import Connector, Message
from hub.sdk.registrar import Registrar

log = logging.getLogger(__name__)

KPI_CONNECTOR = "lgsp-kpi"
THROUGHPUT_POINTS = 300  # ten minutes at one point every two seconds


class Observer:
    def __init__(self, hub: Any, clock: Clock, interval: float = 2.0, history_every: timedelta = timedelta(hours=6)):
        self.hub, self.clock, self.interval, self.history_every = hub, clock, interval, history_every
        self.indicators = DossierIndicators(hub.inventory)
        self.document_indicators = DocumentIndicators(hub.inventory)
        self.statuses: dict[str, dict[str, Any]] = {}
        self.connectivity: dict[str, Any] = {}
        self.dossiers: dict[str, Any] = {}
        self.documents: dict[str, Any] = {}
        self.throughput: deque[dict[str, Any]] = deque(maxlen=THROUGHPUT_POINTS)
        self.routing: RoutingWatch | None = None  # the decisions topic's reader, from start()
        self._lag_meter: RouterLag | None = None
        self._lag: LagTrend | None = None
        self._last = (time.time(), 0, 0)
        self._next_sample: datetime | None = None
        self.kpi = Connector(KPI_CONNECTOR, name="Bộ chỉ số LGSP (KPI)", agency=hub.inventory.province.name if hub.inventory else "LGSP",
                             heartbeat_seconds=5.0)
        for type in DOSSIER_TYPES:
            self.kpi.on(type)(self._observe)
        self._tasks: list[asyncio.Task] = []

    async def start(self, registrar: Registrar) -> None:
        settings = self.hub.settings
        observe = self.document_indicators.observe
        self.routing = RoutingWatch(self.hub.link, self.hub.admin, dict.fromkeys(DOCUMENT_TYPES, observe))
        self._lag_meter = RouterLag(self.hub.link, self.hub.admin)
        self._lag = LagTrend(settings.router_behind_seconds, settings.router_behind_messages)
        await self.routing.start()
        await self._lag_meter.start()
        self._last = (time.time(), 0, 0)
        await self.kpi.start(registrar)
        await self.refresh()  # the endpoints answer with a full view from the first request
        self._tasks = [asyncio.create_task(self._run(), name="observer"),
                       asyncio.create_task(self._sample_every_interval(), name="throughput")]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.kpi.stop()
        for reader in (self.routing, self._lag_meter):
            if reader is not None:
                await reader.stop()

    async def _sample_every_interval(self) -> None:
        """Throughput on its own beat, so slow status queries never stretch its points."""
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self._sample_throughput()
            except Exception:  # the view must outlive a bad sample
                log.exception("throughput sample failed")

    def use(self, inventory: Inventory) -> None:
        """Targets and agency names of another inventory, from the next refresh."""
        self.indicators.use(inventory)
        self.document_indicators.use(inventory)

    async def _observe(self, message: Message) -> None:
        self.indicators.observe(message.envelope.type, message.payload, str(message.envelope.id))

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.refresh()
            except Exception:  # the view must outlive a bad sample
                log.exception("operator view refresh failed")

    async def refresh(self) -> None:
        await self._refresh_statuses()
        self.connectivity = self._connectivity()
        self.dossiers = await asyncio.to_thread(self.indicators.report)
        self.documents = await asyncio.to_thread(self.document_indicators.report)
        await self._record_history()

    @property
    def router_lag(self) -> int | None:
        """Ingress messages the router group has yet to route, at the last sample (None: not known)."""
        return self._lag.lag if self._lag else None

    @property
    def behind(self) -> bool:
        """The router's lag grew over the last window (hub.operator.router_lag.growing)."""
        return bool(self._lag and self._lag.behind)

    async def _sample_throughput(self) -> None:
        lag = await self._lag_meter.measure()
        watch, now = self.routing, time.time()
        routed, rejected, latencies = watch.routed, watch.rejected, watch.take_latencies()
        self._lag.add(now, lag)
        then, routed_before, rejected_before = self._last
        elapsed = max(now - then, 1e-6)
        self.throughput.append({"t": now, "routed": routed - routed_before, "rejected": rejected - rejected_before,
                                "routed_per_s": (routed - routed_before) / elapsed,
                                "rejected_per_s": (rejected - rejected_before) / elapsed,
                                **percentiles(latencies), "router_lag": lag})
        self._last = (now, routed, rejected)

    async def _refresh_statuses(self) -> None:
        paused = await asyncio.to_thread(self.hub.store.paused_connectors)
        ids = list(self.hub.catalog.directory.connectors)
        found = await asyncio.gather(*(self.hub.status.status(cid, cid in paused) for cid in ids))
        self.statuses = dict(zip(ids, found, strict=True))

    def _connectivity(self) -> dict[str, Any]:
        bindings: dict[str, list[str]] = {}
        paused = {cid for cid, status in self.statuses.items() if status["state"] == "PAUSED"}
        for spec in self.hub.catalog.directory.connectors.values():
            if spec.id in paused:  # a paused connector exchanges nothing: its systems are not connected
                continue
            for system in spec.systems:
                bindings.setdefault(system, []).append(spec.id)
        last_seen = {cid: beat["received_at"] for cid, beat in self.hub.status.beats.items()}
        for source, seen in (self.routing.last_seen if self.routing else {}).items():
            last_seen[source] = max(seen, last_seen.get(source, 0.0))
        window = self.hub.settings.connectivity_window_seconds
        inventory = self.hub.inventory
        report = connectivity(inventory, bindings, last_seen, time.time(), window)
        report["province"] = {"name": inventory.province.name, "code": inventory.province.code} if inventory else None
        report["as_of"] = self.clock.now().isoformat(timespec="seconds")
        report["projection"] = projection(self._history_points(), report["target"])
        return report

    def _history_points(self) -> list[tuple[datetime, float]]:
        return [(row["at"], row["share"]) for row in self.history()]

    def history(self) -> list[dict[str, Any]]:
        rows = self.hub.store.connectivity_samples()
        for row in rows:  # SQLite drops the offset: samples are stored in UTC
            if row["at"].tzinfo is None:
                row["at"] = row["at"].replace(tzinfo=timezone.utc)
        return rows

    async def _record_history(self) -> None:
        """One connectivity sample every `history_every` of simulated time."""
        now = self.clock.now()
        if self._next_sample is not None and now < self._next_sample:
            return
        report = self.connectivity
        await asyncio.to_thread(self.hub.store.add_connectivity_sample, now.astimezone(timezone.utc),
                                report["share"] or 0.0, report["connected"], report["total"])
        self._next_sample = now + self.history_every


def percentiles(latencies: list[float]) -> dict[str, float | None]:
    """p50, p95 and p99 of route latencies (seconds) in milliseconds; None without any."""
    if len(latencies) >= 2:
        cuts = quantiles(latencies, n=100)
        return {"p50_ms": cuts[49] * 1000, "p95_ms": cuts[94] * 1000, "p99_ms": cuts[98] * 1000}
    ms = latencies[0] * 1000 if latencies else None
    return {"p50_ms": ms, "p95_ms": ms, "p99_ms": ms}
