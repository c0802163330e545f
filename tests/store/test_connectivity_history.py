"""The operator view keeps the connectivity indicator's history in the store, on the simulated clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

from hub.core.clock import VN_TZ
from hub.operator.kpi import projection
from hub.operator.observer import Observer
from province.scenario import load_scenario


class Clock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


async def test_samples_every_six_simulated_hours_survive_a_restart(store, store_url):
    from hub.store import Store

    start = datetime(2023, 9, 4, 7, 30, tzinfo=VN_TZ)
    clock = Clock(start)
    observer = Observer(SimpleNamespace(inventory=load_scenario("binh-dinh-2023"), store=store), clock)
    for hour, connected in ((0, 3), (2, 4), (6, 5), (12, 6), (13, 7), (18, 8)):
        clock.at = start + timedelta(hours=hour)
        observer.connectivity = {"share": connected / 20, "connected": connected, "total": 20}
        await observer._record_history()

    again = Store(store_url)  # a hub started again reads the history back
    try:
        history = Observer(SimpleNamespace(inventory=observer.hub.inventory, store=again), clock).history()
    finally:
        again.close()
    assert [row["at"] for row in history] == [start + timedelta(hours=h) for h in (0, 6, 12, 18)]
    assert all(row["at"].utcoffset() == timedelta(0) for row in history)  # aware, in UTC, on both databases
    assert [(row["connected"], row["total"]) for row in history] == [(3, 20), (5, 20), (6, 20), (8, 20)]
    assert history[-1]["share"] == 0.4

    forecast = projection(observer._history_points(), 0.6)  # what GET /v1/kpi/connectivity shows
    assert forecast["status"] == "reached_at" and forecast["slope_per_day"] > 0
    assert datetime.fromisoformat(forecast["reached_at"]) > start + timedelta(hours=18)
