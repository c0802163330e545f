"""Connectivity indicator and its projection, on a five-system inventory, figures computed by hand.

  mot-cua      A province  serves  dossier-system seen 10 s ago                → connected
  dich-vu-cong A province  serves  portal seen 301 s ago (window 300 s)        → not connected
  dat-dai      B district  serves  land-old 1000 s ago, land-new exactly 300 s → connected
  mot-cua-xa   C commune   serves  no connector                                → not connected
  thu-dien-tu  A province  internal (e-mail), its connector seen just now      → not counted
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

import pytest

from hub.core.clock import VN_TZ
from hub.operator.kpi import connectivity, projection
from province.scenario import Scenario

A, B, C = "000.00.01.H22", "000.00.20.H22", "000.20.21.H22"
NOW, WINDOW = 1_700_000_000.0, 300.0


def system(id: str, owner: str, level: str, kind: str, serves: bool = True) -> dict[str, Any]:
    return {"id": id, "name": f"Hệ thống {id}", "owner": owner, "level": level, "kind": kind,
            "serves_citizens_businesses": serves}


SCENARIO: dict[str, Any] = {
    "province": {"name": "Bình Định", "code": "052", "targets": {
        "connected_systems": 0.6, "online_dossiers": 0.3, "signed_results": 1.0, "electronic_documents": 0.9}},
    "calendar": {"start": "2023-09-04"},
    "agencies": [{"code": A, "name": "Sở Thông tin và Truyền thông", "level": "province"},
                 {"code": B, "name": "UBND huyện Tuy Phước", "level": "district"},
                 {"code": C, "name": "UBND xã Phước Hòa", "level": "commune"}],
    "systems": [
        system("mot-cua", A, "province", "dossier_system") | {"connected": True},
        system("dich-vu-cong", A, "province", "portal"),
        system("dat-dai", B, "district", "sector_database"),
        system("mot-cua-xa", C, "commune", "dossier_system"),
        system("thu-dien-tu", A, "province", "shared_platform", serves=False),
    ],
    "procedures": [
        {"code": "1.001612", "name": "Đăng ký khai sinh", "field_code": "HT", "field_name": "Hộ tịch",
         "level": "toan_trinh", "legal_days": 1, "agencies": [C]},
        {"code": "1.004227", "name": "Cấp phiếu lý lịch tư pháp", "field_code": "LLTP",
         "field_name": "Lý lịch tư pháp", "level": "mot_phan", "legal_days": 10, "agencies": [A]},
    ],
    "traffic": {"dossiers_per_day": 100, "share_online": 0.25, "share_by_post": 0.03,
                "share_business_applicants": 0.1, "processing": {"kind": "lognormal", "median": 0.45, "sigma": 0.5},
                "share_supplement_requested": 0.08, "supplement_days": {"kind": "uniform", "low": 1, "high": 5},
                "share_refused": 0.03, "share_verification_mismatch": 0.02, "share_signed_result": 0.99},
}
BINDINGS = {"mot-cua": ["dossier-system"], "dich-vu-cong": ["portal"], "dat-dai": ["land-old", "land-new"],
            "thu-dien-tu": ["mail"], "not-in-inventory": ["stray"]}
LAST_SEEN = {"dossier-system": NOW - 10, "portal": NOW - 301, "land-old": NOW - 1000, "land-new": NOW - 300,
             "mail": NOW, "stray": NOW}


def scenario(data: dict[str, Any] = SCENARIO) -> Scenario:
    return Scenario.model_validate(data)


def test_share_counts_systems_serving_citizens_with_a_connector_seen_in_the_window() -> None:
    report = connectivity(scenario(), BINDINGS, LAST_SEEN, NOW, WINDOW)
    assert {k: report[k] for k in ("share", "target", "met", "connected", "total", "window_seconds")} == {
        "share": 0.5, "target": 0.6, "met": False, "connected": 2, "total": 4, "window_seconds": 300.0}
    assert report["systems"] == [
        {"id": "mot-cua", "name": "Hệ thống mot-cua", "owner": A, "level": "province", "connected": True,
         "connectors": ["dossier-system"], "last_seen": NOW - 10},
        {"id": "dich-vu-cong", "name": "Hệ thống dich-vu-cong", "owner": A, "level": "province", "connected": False,
         "connectors": ["portal"], "last_seen": NOW - 301},
        {"id": "dat-dai", "name": "Hệ thống dat-dai", "owner": B, "level": "district", "connected": True,
         "connectors": ["land-new", "land-old"], "last_seen": NOW - 300},
        {"id": "mot-cua-xa", "name": "Hệ thống mot-cua-xa", "owner": C, "level": "commune", "connected": False,
         "connectors": [], "last_seen": None},
    ]


def test_by_level_and_by_agency() -> None:
    report = connectivity(scenario(), BINDINGS, LAST_SEEN, NOW, WINDOW)
    assert report["by_level"] == [
        {"level": "province", "connected": 1, "total": 2, "share": 0.5},
        {"level": "district", "connected": 1, "total": 1, "share": 1.0},
        {"level": "commune", "connected": 0, "total": 1, "share": 0.0},
    ]
    assert report["by_agency"] == [
        {"agency": A, "name": "Sở Thông tin và Truyền thông", "connected": 1, "total": 2, "share": 0.5},
        {"agency": B, "name": "UBND huyện Tuy Phước", "connected": 1, "total": 1, "share": 1.0},
        {"agency": C, "name": "UBND xã Phước Hòa", "connected": 0, "total": 1, "share": 0.0},
    ]


def test_target_met_once_the_portal_is_seen_again() -> None:
    report = connectivity(scenario(), BINDINGS, LAST_SEEN | {"portal": NOW - 5}, NOW, WINDOW)
    assert (report["connected"], report["total"], report["share"], report["met"]) == (3, 4, 0.75, True)


def test_only_levels_present_are_listed_and_the_static_flag_plays_no_part() -> None:
    data = copy.deepcopy(SCENARIO)
    data["systems"][3]["serves_citizens_businesses"] = False  # the commune system no longer counts
    report = connectivity(scenario(data), {}, {}, NOW, WINDOW)  # nothing seen: mot-cua's connected=True ignored
    assert [row["level"] for row in report["by_level"]] == ["province", "district"]
    assert (report["connected"], report["total"], report["share"], report["met"]) == (0, 3, 0.0, False)
    assert [row["agency"] for row in report["by_agency"]] == [A, B]


# --- projection ---------------------------------------------------------------------------------

T0 = datetime(2023, 9, 4, tzinfo=VN_TZ)


def days(n: float) -> datetime:
    return T0 + timedelta(days=n)


def test_projection_met_when_the_latest_point_reaches_the_target() -> None:
    result = projection([(days(1), 0.62), (days(0), 0.50)], 0.6)  # order of the input does not matter
    assert result == {"status": "met", "reached_at": None, "slope_per_day": pytest.approx(0.12)}


def test_projection_reached_at_on_the_least_squares_line() -> None:
    # x = 0, 1, 2 days; y = .40, .40, .46: mean (1, .42), Sxy = .06, Sxx = 2 → slope .03/day, intercept .39;
    # .39 + .03 x = .60 → x = 7 days.
    result = projection([(days(0), 0.40), (days(1), 0.40), (days(2), 0.46)], 0.6)
    assert result == {"status": "reached_at", "reached_at": "2023-09-11T00:00:00+07:00",
                      "slope_per_day": pytest.approx(0.03)}


def test_projection_never_reaches_before_the_latest_point() -> None:
    # y = 0, .7, .5: slope .25, intercept .15 → line crosses .6 at 1.8 days, before the latest point (2 days).
    result = projection([(days(0), 0.0), (days(1), 0.7), (days(2), 0.5)], 0.6)
    assert (result["status"], result["reached_at"]) == ("reached_at", "2023-09-06T00:00:00+07:00")


@pytest.mark.parametrize("history", [
    [(days(0), 0.50), (days(1), 0.45)],  # falling
    [(days(0), 0.50), (days(3), 0.50)],  # flat
])
def test_projection_not_at_this_trend(history: list[tuple[datetime, float]]) -> None:
    result = projection(history, 0.6)
    assert (result["status"], result["reached_at"]) == ("not_at_this_trend", None)
    assert result["slope_per_day"] <= 0


def test_projection_too_slow_for_the_calendar() -> None:
    result = projection([(days(0), 0.0), (days(1), 1e-12)], 0.6)
    assert (result["status"], result["reached_at"]) == ("not_at_this_trend", None)


@pytest.mark.parametrize("history", [[], [(days(0), 0.4)], [(days(0), 0.4), (days(0), 0.5)]])
def test_projection_needs_two_points_spanning_some_time(history: list[tuple[datetime, float]]) -> None:
    assert projection(history, 0.6) == {"status": "too_little_history", "reached_at": None, "slope_per_day": None}
