"""The hub's settings under the simulated province: its topics keep a simulated week, at least an hour."""

from __future__ import annotations

from province.settings import ProvinceSettings, hub_settings

HOUR_MS, WEEK_MS = 3_600_000, 7 * 86_400_000


def test_the_province_keeps_a_simulated_week_and_at_least_an_hour(monkeypatch):
    monkeypatch.delenv("LGSP_RETENTION_MS", raising=False)
    assert hub_settings(ProvinceSettings(speed=1)).retention_ms == WEEK_MS
    assert hub_settings(ProvinceSettings(speed=10)).retention_ms == WEEK_MS // 10
    assert hub_settings(ProvinceSettings(speed=3600)).retention_ms == HOUR_MS  # a week would be 168 s


def test_the_operator_s_retention_wins(monkeypatch):
    monkeypatch.setenv("LGSP_RETENTION_MS", "5000")
    assert hub_settings(ProvinceSettings(speed=3600)).retention_ms == 5000
