"""Dossier indicators on a hand-made week of dossiers, every figure computed by hand.

Agencies: A (Sở Tư pháp), B (district), C (commune). All times 2023-09, +07:00.

  D1 A online  recv 04 08:00 due 06 17:00  4, 5@05 09:00, 4@07 09:00 (48 h supplement), 9@07 15:00, 10@07 17:00
               ended 07 15:00: 22 h after due, minus 48 h → on time; signed
  D2 A counter recv 04 09:00 due 08 17:00  two supplements (2 h each), ended 07 10:00 → late (0 days); signed
  D3 B online  recv 05 10:00 due 06 17:00  refused (3) at 05 11:00 → completed on time, no result
  D4 B counter recv 05 14:00 due 07 17:00  ended 08 11:00 → late 18 h = 0.75 days; result NOT signed
  D5 C post    recv 06 08:00 due 07 17:00  open (4): at as_of 08 15:00, 22 h past due → open late, 0.92 days
  D6 C counter recv 08 09:00 due 12 17:00  open, not yet due
  D7 A counter recv 04 10:00 due 06 17:00  open, waiting on the citizen since 06 09:00 (5): 46 h past due
               minus 54 h of supplement so far → not late
The latest event is D4's return at 08 15:00: the default as_of.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest

from hub.core.clock import VN_TZ
from hub.core.schemas.registry import SchemaRegistry, bundled_schemas_dir
from hub.operator.kpi import DossierIndicators
from hub.testing.samples import dossier_submitted_payload
from province.scenario import Scenario

A, B, C = "000.00.01.H22", "000.00.20.H22", "000.20.21.H22"
COUNTER, ONLINE, POST = 1, 2, 3


def scenario() -> Scenario:
    return Scenario.model_validate({
        "province": {"name": "Bình Định", "code": "052", "targets": {
            "connected_systems": 0.6, "online_dossiers": 0.3, "signed_results": 1.0, "electronic_documents": 0.9}},
        "calendar": {"start": "2023-09-04"},
        "agencies": [{"code": A, "name": "Sở Tư pháp", "level": "province"},
                     {"code": B, "name": "UBND huyện Tuy Phước", "level": "district"},
                     {"code": C, "name": "UBND xã Phước Hòa", "level": "commune"}],
        "systems": [{"id": "mot-cua", "name": "Hệ thống thông tin giải quyết TTHC", "owner": A, "level": "province",
                     "kind": "dossier_system", "serves_citizens_businesses": True}],
        "procedures": [
            {"code": "1.001612", "name": "Đăng ký khai sinh", "field_code": "HT", "field_name": "Hộ tịch",
             "level": "toan_trinh", "legal_days": 1, "agencies": [C]},
            {"code": "1.004227", "name": "Cấp phiếu lý lịch tư pháp", "field_code": "LLTP",
             "field_name": "Lý lịch tư pháp", "level": "mot_phan", "legal_days": 10, "agencies": [A, B]},
        ],
        "traffic": {"dossiers_per_day": 100, "share_online": 0.25, "share_by_post": 0.03,
                    "share_business_applicants": 0.1, "processing": {"kind": "lognormal", "median": 0.45, "sigma": 0.5},
                    "share_supplement_requested": 0.08, "supplement_days": {"kind": "uniform", "low": 1, "high": 5},
                    "share_refused": 0.03, "share_verification_mismatch": 0.02, "share_signed_result": 0.99},
    })


def at(text: str) -> str:
    """'04 08:00' → '2023-09-04T08:00:00+07:00'."""
    day, hour = text.split()
    return f"2023-09-{day}T{hour}:00+07:00"


def code(agency: str, n: int) -> str:
    return f"{agency}-230904-{n:04d}"


class Feed:
    """Builds the messages a dossier system sends and keeps them, with their ids, for replay."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any], str]] = []

    def _add(self, type: str, payload: dict[str, Any]) -> str:
        message_id = f"m{len(self.messages) + 1}"
        self.messages.append((type, payload, message_id))
        return message_id

    def submitted(self, dossier: str, agency: str, received: str, due: str, channel: int, status: int = 2,
                  procedure: str = "1.004227") -> str:
        payload = dossier_submitted_payload() | {
            "MaHoSo": dossier, "MaTTHC": procedure, "DonViXuLy": agency, "NgayTiepNhan": at(received),
            "NgayHenTra": at(due), "KenhThucHien": channel, "MucDo": "mot_phan", "TrangThaiHoSo": status}
        return self._add("dossier.submitted", payload)

    def status(self, dossier: str, agency: str, status: int, when: str, **extra: Any) -> str:
        payload = {"MaHoSo": dossier, "TrangThaiHoSo": status, "ThoiDiem": at(when), "DonViXuLy": agency} | extra
        return self._add("dossier.status_changed", payload)

    def completed(self, dossier: str, agency: str, status: int, received: str, due: str, ended: str,
                  returned: str | None = None, signed: bool = False, days: float = 0, times: int = 0) -> str:
        payload = {"MaHoSo": dossier, "TrangThaiHoSo": status, "DonViXuLy": agency, "NgayTiepNhan": at(received),
                   "NgayHenTra": at(due), "NgayKetThucXuLy": at(ended), "SoNgayBoSung": days,
                   "SoLanBoSung": times, "KetQuaKySo": signed}
        if returned:
            payload["NgayTra"] = at(returned)
        return self._add("dossier.completed", payload)

    def play(self, indicators: DossierIndicators) -> None:
        for type, payload, message_id in self.messages:
            indicators.observe(type, payload, message_id)


D1, D2, D7 = code(A, 1), code(A, 2), code(A, 3)
D3, D4 = code(B, 1), code(B, 2)
D5, D6 = code(C, 1), code(C, 2)


def week() -> Feed:
    f = Feed()
    f.submitted(D1, A, "04 08:00", "06 17:00", ONLINE)
    f.status(D1, A, 4, "04 08:00")
    f.submitted(D2, A, "04 09:00", "08 17:00", COUNTER)
    f.status(D2, A, 4, "04 09:00")
    f.submitted(D7, A, "04 10:00", "06 17:00", COUNTER)
    f.status(D7, A, 4, "04 10:00")
    d1_supplement = f.status(D1, A, 5, "05 09:00", GhiChu="Yêu cầu bổ sung hồ sơ")
    f.status(D2, A, 5, "05 08:00")
    f.status(D2, A, 4, "05 10:00")
    f.messages += f.messages[-3:]  # a router crash before its commit re-delivers a batch: same ids, same payloads
    f.submitted(D3, B, "05 10:00", "06 17:00", ONLINE, status=1)
    f.status(D3, B, 3, "05 11:00", GhiChu="Không đủ điều kiện")
    f.completed(D3, B, 3, "05 10:00", "06 17:00", "05 11:00")
    d4_submitted = f.submitted(D4, B, "05 14:00", "07 17:00", COUNTER)
    f.status(D4, B, 4, "05 14:00")
    f.submitted(D5, C, "06 08:00", "07 17:00", POST, procedure="1.001612")
    f.status(D5, C, 4, "06 08:00")
    f.status(D2, A, 5, "06 08:00")
    f.status(D2, A, 4, "06 10:00")
    d7_supplement = f.status(D7, A, 5, "06 09:00")
    f.status(D1, A, 4, "07 09:00", GhiChu="Công dân đã bổ sung")
    f.status(D2, A, 9, "07 10:00")
    f.status(D2, A, 10, "07 12:00")
    d2_completed = f.completed(D2, A, 10, "04 09:00", "08 17:00", "07 10:00", "07 12:00", signed=True, days=1 / 6,
                               times=2)
    f.status(D1, A, 9, "07 15:00")
    f.status(D1, A, 10, "07 17:00")
    f.completed(D1, A, 10, "04 08:00", "06 17:00", "07 15:00", "07 17:00", signed=True, days=2, times=1)
    f.submitted(D6, C, "08 09:00", "12 17:00", COUNTER, procedure="1.001612")
    f.status(D6, C, 4, "08 09:00")
    f.status(D4, B, 9, "08 11:00")
    f.status(D4, B, 10, "08 15:00")
    d4_completed = f.completed(D4, B, 10, "05 14:00", "07 17:00", "08 11:00", "08 15:00", signed=False)
    # Later re-deliveries: of dossiers completed since, and of one still open.
    by_id = {message_id: (type, payload) for type, payload, message_id in f.messages}
    for message_id in (d1_supplement, d2_completed, d4_submitted, d4_completed, d7_supplement):
        type, payload = by_id[message_id]
        f.messages.append((type, payload, message_id))
    return f


@pytest.fixture
def indicators() -> DossierIndicators:
    indicators = DossierIndicators(scenario())
    week().play(indicators)
    return indicators


def test_the_feed_is_what_the_schemas_accept() -> None:
    registry = SchemaRegistry.from_dirs(bundled_schemas_dir())
    for type, payload, _ in week().messages:
        assert registry.validate(type, 1, payload) == [], (type, payload)


def test_cumulative(indicators: DossierIndicators) -> None:
    report = indicators.report()
    assert report["as_of"] == "2023-09-08T15:00:00+07:00"
    assert report["cumulative"] == {
        "received": 7, "online": 2, "online_share": pytest.approx(2 / 7), "online_target": 0.3, "online_met": False,
        "completed": 4, "on_time": 2, "late": 2, "late_share": 0.5, "open": 3, "open_late": 1,
        "results": 3, "signed": 2, "signed_share": pytest.approx(2 / 3), "signed_target": 1.0, "signed_met": False,
    }


def test_daily_rows_only_for_days_with_activity(indicators: DossierIndicators) -> None:
    empty = {"completed": 0, "on_time": 0, "late": 0, "late_share": None, "results": 0, "signed": 0,
             "signed_share": None}
    assert indicators.report()["daily"] == [
        {"day": "2023-09-04", "received": 3, "online": 1, "online_share": pytest.approx(1 / 3)} | empty,
        {"day": "2023-09-05", "received": 2, "online": 1, "online_share": 0.5} | empty
        | {"completed": 1, "on_time": 1, "late_share": 0.0},  # D3, refused: no result to sign
        {"day": "2023-09-06", "received": 1, "online": 0, "online_share": 0.0} | empty,
        {"day": "2023-09-07", "received": 0, "online": 0, "online_share": None, "completed": 2, "on_time": 1,
         "late": 1, "late_share": 0.5, "results": 2, "signed": 2, "signed_share": 1.0},  # D1 on time, D2 late
        {"day": "2023-09-08", "received": 1, "online": 0, "online_share": 0.0, "completed": 1, "on_time": 0,
         "late": 1, "late_share": 1.0, "results": 1, "signed": 0, "signed_share": 0.0},  # D4 late, unsigned
    ]


def test_late_by_agency(indicators: DossierIndicators) -> None:
    assert indicators.report()["late_by_agency"] == [
        {"agency": A, "name": "Sở Tư pháp", "completed": 2, "late": 1, "late_share": 0.5, "open_late": 0},
        {"agency": B, "name": "UBND huyện Tuy Phước", "completed": 2, "late": 1, "late_share": 0.5, "open_late": 0},
        {"agency": C, "name": "UBND xã Phước Hòa", "completed": 0, "late": 0, "late_share": None, "open_late": 1},
    ]


def test_late_list_includes_open_late_most_days_first(indicators: DossierIndicators) -> None:
    late = indicators.late()
    assert (late["agency"], late["as_of"]) == (None, "2023-09-08T15:00:00+07:00")
    assert late["dossiers"] == [
        {"MaHoSo": D5, "MaTTHC": "1.001612", "DonViXuLy": C, "NgayHenTra": at("07 17:00"),
         "NgayKetThucXuLy": None, "days_late": 0.92, "supplements": 0, "status": 4},
        {"MaHoSo": D4, "MaTTHC": "1.004227", "DonViXuLy": B, "NgayHenTra": at("07 17:00"),
         "NgayKetThucXuLy": at("08 11:00"), "days_late": 0.75, "supplements": 0, "status": 10},
        {"MaHoSo": D2, "MaTTHC": "1.004227", "DonViXuLy": A, "NgayHenTra": at("08 17:00"),
         "NgayKetThucXuLy": at("07 10:00"), "days_late": 0.0, "supplements": 2, "status": 10},
    ]
    assert [d["MaHoSo"] for d in indicators.late(B)["dossiers"]] == [D4]
    assert [d["MaHoSo"] for d in indicators.late(C)["dossiers"]] == [D5]
    assert indicators.late("000.99.99.H22")["dossiers"] == []


def test_open_dossiers_are_measured_at_the_given_day(indicators: DossierIndicators) -> None:
    later = datetime(2023, 9, 13, 9, 0, tzinfo=VN_TZ)
    # D6 is now 16 h past due; D7 has waited on the citizen 7 days, more than its 6 d 16 h past due.
    report = indicators.report(as_of=later)
    assert report["as_of"] == "2023-09-13T09:00:00+07:00"
    assert (report["cumulative"]["open"], report["cumulative"]["open_late"]) == (3, 2)
    assert [(d["MaHoSo"], d["days_late"]) for d in indicators.late(as_of=later)["dossiers"]] == [
        (D5, 5.67), (D4, 0.75), (D6, 0.67), (D2, 0.0)]
    assert [(r["agency"], r["open_late"]) for r in report["late_by_agency"]] == [(A, 0), (B, 0), (C, 2)]
    with pytest.raises(ValueError, match="timezone-aware"):
        indicators.report(as_of=datetime(2023, 9, 13))


def test_supplement_time_is_the_hubs_own_not_the_declared_one() -> None:
    """4 → 5 → 4 gives 2 days of the citizen's time; the completed event declares none."""
    f, dossier = Feed(), code(A, 9)
    f.submitted(dossier, A, "04 08:00", "06 17:00", COUNTER)
    f.status(dossier, A, 4, "04 08:00")
    f.status(dossier, A, 5, "05 08:00")
    f.status(dossier, A, 4, "07 08:00")
    f.completed(dossier, A, 9, "04 08:00", "06 17:00", "07 16:00", signed=True, days=0, times=0)
    indicators = DossierIndicators(scenario())
    f.play(indicators)
    assert (indicators.report()["cumulative"]["on_time"], indicators.late()["dossiers"]) == (1, [])


def test_declared_supplement_is_the_fallback_without_status_changes() -> None:
    """Only completed events seen: SoNgayBoSung / SoLanBoSung decide; withdrawn (7) is judged the same way."""
    f = Feed()
    f.completed(code(A, 1), A, 10, "04 08:00", "06 17:00", "07 17:00", signed=True, days=1.5, times=1)  # on time
    f.completed(code(A, 2), A, 10, "04 08:00", "06 17:00", "05 17:00", signed=True, days=0.5, times=2)  # late
    f.completed(code(B, 1), B, 7, "04 08:00", "06 17:00", "07 05:00", days=0, times=0)  # withdrawn, 0.5 day late
    indicators = DossierIndicators(scenario())
    f.play(indicators)
    cumulative = indicators.report()["cumulative"]
    assert (cumulative["received"], cumulative["completed"], cumulative["on_time"], cumulative["late"]) == (0, 3, 1, 2)
    assert (cumulative["results"], cumulative["signed"], cumulative["signed_met"]) == (2, 2, True)
    assert [(d["MaHoSo"], d["days_late"], d["status"], d["MaTTHC"]) for d in indicators.late()["dossiers"]] == [
        (code(B, 1), 0.5, 7, None), (code(A, 2), 0.0, 10, None)]


def test_a_message_applied_twice_counts_once_and_other_types_are_ignored() -> None:
    once, twice = DossierIndicators(scenario()), DossierIndicators(scenario())
    week().play(once)
    for _ in range(2):
        week().play(twice)
    twice.observe("citizen.verify.request", {"MaHoSo": D1}, "x1")
    assert twice.report() == once.report()
    assert twice.late() == once.late()


def test_targets_default_without_a_scenario_and_an_empty_report() -> None:
    indicators = DossierIndicators()
    assert (indicators.online_target, indicators.signed_target) == (0.30, 1.0)
    report = indicators.report()
    assert report["as_of"] is None and report["daily"] == [] and report["late_by_agency"] == []
    assert report["cumulative"]["online_share"] is None and report["cumulative"]["online_met"] is False
    assert indicators.late() == {"agency": None, "as_of": None, "dossiers": []}


def test_days_are_counted_in_asia_ho_chi_minh() -> None:
    """17:30 UTC on the 4th is 00:30 on the 5th in Việt Nam; 30% online meets the ≥30% target."""
    indicators = DossierIndicators(scenario())
    for n in range(10):
        payload = dossier_submitted_payload(n) | {"NgayTiepNhan": "2023-09-04T17:30:00Z", "KenhThucHien": 2 if n < 3
                                                  else 1}
        indicators.observe("dossier.submitted", payload, f"s{n}")
    report = indicators.report()
    assert [row["day"] for row in report["daily"]] == ["2023-09-05"]
    assert (report["cumulative"]["online_share"], report["cumulative"]["online_met"]) == (pytest.approx(0.3), True)


def test_ingests_well_over_5000_events_per_second() -> None:
    messages = []
    for n in range(3000):
        f, dossier = Feed(), f"{A}-230904-{n:04d}"
        f.submitted(dossier, A, "04 08:00", "06 17:00", ONLINE)
        f.status(dossier, A, 4, "04 08:00")
        f.status(dossier, A, 5, "05 08:00")
        f.status(dossier, A, 4, "06 08:00")
        f.status(dossier, A, 9, "07 08:00")
        f.status(dossier, A, 10, "07 10:00")
        f.completed(dossier, A, 10, "04 08:00", "06 17:00", "07 08:00", "07 10:00", signed=True, days=1, times=1)
        messages += [(type, payload, f"{dossier}/{mid}") for type, payload, mid in f.messages]
    indicators = DossierIndicators(scenario())
    started = time.perf_counter()
    for type, payload, message_id in messages:
        indicators.observe(type, payload, message_id)
    elapsed = time.perf_counter() - started
    assert indicators.report()["cumulative"]["on_time"] == 3000
    assert len(messages) / elapsed > 5000 * 3, f"{len(messages) / elapsed:.0f} events/s"


def many_dossiers(count: int) -> Feed:
    """`count` dossiers over A, B and C, every seventh late by up to a day, each completion re-delivered
    right after it; the last ten stay open."""
    f = Feed()
    for n in range(count):
        agency, dossier = (A, B, C)[n % 3], code((A, B, C)[n % 3], n)
        f.submitted(dossier, agency, "04 08:00", "06 17:00", (COUNTER, ONLINE)[n % 2])
        f.status(dossier, agency, 4, "04 09:00")
        if n >= count - 10:
            continue
        ended = f"07 {n % 24:02d}:00" if n % 7 == 0 else "06 12:00"
        completed = f.completed(dossier, agency, 10, "04 08:00", "06 17:00", ended, signed=n % 5 > 0)
        f.messages.append((*f.messages[-1][:2], completed))
    return f


def test_completed_dossiers_are_folded_and_only_the_open_ones_held() -> None:
    indicators = DossierIndicators(scenario(), completed_window=50, late_kept=20)
    many_dossiers(3000).play(indicators)
    held = indicators.held()
    assert (held["open"], held["completed_remembered"]) == (10, 50)
    assert 3 * 20 <= held["late_listed"] < 3 * 2 * 20  # per agency: the 20 most late, trimmed at twice that
    cumulative = indicators.report()["cumulative"]
    assert (cumulative["received"], cumulative["completed"], cumulative["open"]) == (3000, 2990, 10)


def test_bounded_state_gives_the_same_indicators_and_the_head_of_the_late_list() -> None:
    bounded, unbounded = DossierIndicators(scenario(), completed_window=50, late_kept=20), DossierIndicators(scenario())
    for indicators in (bounded, unbounded):
        many_dossiers(3000).play(indicators)
    assert bounded.report() == unbounded.report()
    for agency in (None, A, B, C):
        kept, every = bounded.late(agency)["dossiers"], unbounded.late(agency)["dossiers"]
        assert len(every) > len(kept) > 20 and kept[:20] == every[:20]
    late_counts = {row["agency"]: row["late"] for row in bounded.report()["late_by_agency"]}
    completed_late = [d for d in unbounded.late()["dossiers"] if d["NgayKetThucXuLy"] is not None]
    assert late_counts == {agency: sum(d["DonViXuLy"] == agency for d in completed_late) for agency in (A, B, C)}
