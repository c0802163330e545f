"""A simulated week of the Bình Định scenario through the whole hub, on each broker."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from hub.control.registration import LocalRegistrar
from hub.control.runtime import Hub
from hub.core.deadlines import is_late
from province.runner import Simulation
from province.scenario import Outage, load_scenario
from province.traffic import expected_late_share
from tests.support.waiting import eventually

SPEED = 3 * 86_400  # three simulated days per real second
OUTAGE = Outage(connector="ndxp", start_day=2, start_hour=9, duration_hours=36)


async def test_a_week_of_binh_dinh(tmp_path, broker):
    scenario = load_scenario("binh-dinh-2023")
    scenario = scenario.model_copy(update={"outages": [OUTAGE]})
    hub = Hub(broker.settings(database_url=f"sqlite:///{tmp_path / 'hub.db'}", refresh_seconds=0.5), inventory=scenario)
    await hub.start()
    province = Simulation(scenario, seed=7, speed=SPEED, volume=0.1, days=7, heartbeat_seconds=1, keep_records=True)
    try:
        await province.start(LocalRegistrar(hub))
        await asyncio.wait_for(province.traffic, timeout=240)
        dossiers, ndxp, population = province.dossier_system, province.ndxp, province.population_db
        published = set(dossiers.published)
        await eventually(lambda: published <= set(ndxp.events) and published <= set(dossiers.stats.receipts),
                       timeout=60, what="every dossier event to reach NDXP and be acknowledged", interval=0.2)
    finally:
        await province.stop()
        await hub.stop()

    stats = dossiers.stats
    assert stats.planned > 500 and stats.completed == stats.planned
    # Every dossier got a verification reply (none timed out), and mismatches were refused.
    assert sum(stats.verified.values()) == stats.planned and stats.verification_timeouts == 0
    assert stats.verified["sai_lech"] > 0 and stats.refused >= stats.verified["sai_lech"]
    assert population.answered == stats.planned
    # Every event reached NDXP once and got exactly one receipt after de-duplication.
    assert set(ndxp.events) == published
    assert all(count == 1 for count in stats.receipts.values()) and set(stats.receipts) == published
    assert stats.receipts_refused == 0
    assert len(ndxp.completions) == stats.submitted == stats.planned
    # Events sent while NDXP was down waited in its inbox and arrived afterwards.
    start, end = OUTAGE.window(scenario.calendar.start)
    sent_during_outage = [code for code, c in ndxp.completions.items()
                          if start <= datetime.fromisoformat(c["NgayKetThucXuLy"]) + timedelta(hours=2) < end]
    assert sent_during_outage, "the outage window should cover some completed dossiers"
    # The late share follows the scenario's model (accepted dossiers, national rule).
    accepted = [c for c in ndxp.completions.values() if c["TrangThaiHoSo"] == 10]
    late_share = sum(map(is_late, accepted)) / len(accepted)
    expected = expected_late_share(scenario.traffic, include_refused=False)
    print(f"dossiers={stats.planned} refused={stats.refused} events={len(published)} "
          f"late={late_share:.3%} expected={expected:.3%} during-outage={len(sent_during_outage)}")
    assert abs(late_share - expected) < 0.03, (late_share, expected)
