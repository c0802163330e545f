"""The operator's view, refreshed every couple of seconds off the routing path.

It keeps the latest connector statuses (state, lag), the throughput and latency of the last minutes,
the connectivity indicator with its history on the simulated clock, and the dossier indicators, which
it computes from the `dossier.*` messages the hub routes: the hub subscribes to them as connector
`lgsp-kpi`, like any other receiver.
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
from hub.operator.kpi.connectivity import connectivity, projection
from hub.operator.kpi.dossiers import DossierIndicators
from hub.sdk import Connector, Message
from hub.sdk.registrar import Registrar

log = logging.getLogger(__name__)

KPI_CONNECTOR = "lgsp-kpi"
THROUGHPUT_POINTS = 300  # ten minutes at one point every two seconds


class Observer:
    def __init__(self, hub: Any, clock: Clock, interval: float = 2.0, history_every: timedelta = timedelta(hours=6)):
        self.hub, self.clock, self.interval, self.history_every = hub, clock, interval, history_every
        self.indicators = DossierIndicators(hub.inventory)
        self.statuses: dict[str, dict[str, Any]] = {}
        self.connectivity: dict[str, Any] = {}
        self.dossiers: dict[str, Any] = {}
        self.throughput: deque[dict[str, Any]] = deque(maxlen=THROUGHPUT_POINTS)
        self._last = (time.time(), 0, 0)
        self._next_sample: datetime | None = None
        self.kpi = Connector(KPI_CONNECTOR, name="Bộ chỉ số LGSP (KPI)", agency=hub.inventory.province.name if hub.inventory else "LGSP",
                             heartbeat_seconds=5.0)
        for type in DOSSIER_TYPES:
            self.kpi.on(type)(self._observe)
        self._tasks: list[asyncio.Task] = []

    async def start(self, registrar: Registrar) -> None:
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

    async def _sample_every_interval(self) -> None:
        """Throughput on its own beat, so slow status queries never stretch its points."""
        while True:
            await asyncio.sleep(self.interval)
            self._sample_throughput()

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
        await self._record_history()

    def _sample_throughput(self) -> None:
        router = self.hub.router
        if router is None:
            return
        now, stats = time.time(), router.stats
        rejected = sum(stats.rejected.values())
        then, routed_before, rejected_before = self._last
        elapsed = max(now - then, 1e-6)
        latencies = list(stats.recent_latencies)
        stats.recent_latencies.clear()
        p50 = p95 = None
        if len(latencies) >= 2:
            cuts = quantiles(latencies, n=20)
            p50, p95 = cuts[9] * 1000, cuts[18] * 1000
        elif latencies:
            p50 = p95 = latencies[0] * 1000
        self.throughput.append({"t": now, "routed_per_s": (stats.routed - routed_before) / elapsed,
                                "rejected_per_s": (rejected - rejected_before) / elapsed,
                                "p50_ms": p50, "p95_ms": p95})
        self._last = (now, stats.routed, rejected)

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
        if self.hub.router:
            for source, seen in self.hub.router.stats.last_seen.items():
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
