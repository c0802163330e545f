"""The seeded dossier planner: reproducible, faithful to the scenario's shares, and to the time rules."""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta

import pytest

from hub.core.clock import VN_TZ
from province.scenario import Calendar, Scenario, Uniform, load_scenario
from province.traffic import (
    ApplicantKind,
    Channel,
    DossierPlanner,
    PlannedDossier,
    WorkCalendar,
    expected_late_share,
    plan_day,
)

MA_HO_SO = re.compile(r"^[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}-[0-9]{6}-[0-9]{4}$")  # as in the schemas
MONDAY = date(2023, 9, 11)  # Bình Định: an ordinary working week follows


@pytest.fixture(scope="module")
def binh_dinh() -> Scenario:
    return load_scenario("binh-dinh-2023")


@pytest.fixture(scope="module")
def week(binh_dinh: Scenario) -> list[PlannedDossier]:
    """Five working days at the scenario's volume: ~9,000 dossiers."""
    return list(DossierPlanner(binh_dinh, seed=7).days(MONDAY, 5))


def close(observed: float, expected: float, n: int) -> bool:
    """Within four binomial standard deviations (a false alarm about once in 16,000 runs)."""
    return abs(observed - expected) <= 4 * math.sqrt(expected * (1 - expected) / n) + 1e-9


def share(items: list[PlannedDossier], predicate) -> float:
    return sum(1 for d in items if predicate(d)) / len(items)


# --- reproducibility ----------------------------------------------------------------------------


def test_same_seed_same_plans(binh_dinh: Scenario) -> None:
    assert plan_day(binh_dinh, 42, MONDAY) == plan_day(binh_dinh, 42, MONDAY)


def test_another_seed_other_plans(binh_dinh: Scenario) -> None:
    first, second = plan_day(binh_dinh, 42, MONDAY), plan_day(binh_dinh, 43, MONDAY)
    assert [d.received_at for d in first] != [d.received_at for d in second]


def test_a_day_does_not_depend_on_the_days_planned_before(binh_dinh: Scenario) -> None:
    planner = DossierPlanner(binh_dinh, seed=5, volume=0.2)
    planner.day(MONDAY)
    assert planner.day(MONDAY + timedelta(days=1)) == DossierPlanner(binh_dinh, 5, 0.2).day(MONDAY + timedelta(days=1))


def test_volume_scales_the_day(binh_dinh: Scenario) -> None:
    assert plan_day(binh_dinh, 1, MONDAY, volume=0) == []
    small = len(plan_day(binh_dinh, 1, MONDAY, volume=0.1))
    assert abs(small - 180) < 5 * math.sqrt(180)  # Poisson around a tenth of 1,800


# --- shares match the scenario ------------------------------------------------------------------


def test_dossiers_per_working_day(binh_dinh: Scenario, week: list[PlannedDossier]) -> None:
    per_day = len(week) / 5
    assert abs(per_day - binh_dinh.traffic.dossiers_per_day) < 4 * math.sqrt(binh_dinh.traffic.dossiers_per_day / 5)


@pytest.mark.parametrize(
    ("name", "predicate", "expected"),
    [
        ("share_online", lambda d: d.channel is Channel.ONLINE, lambda t: t.share_online),
        ("share_by_post", lambda d: d.channel is Channel.POST, lambda t: t.share_by_post),
        (
            "share_business_applicants",
            lambda d: d.applicant is ApplicantKind.BUSINESS,
            lambda t: t.share_business_applicants,
        ),
        ("share_refused", lambda d: d.refused, lambda t: t.share_refused),
        ("share_verification_mismatch", lambda d: d.verification_mismatch, lambda t: t.share_verification_mismatch),
        (
            "share_supplement_requested",
            lambda d: bool(d.supplements),
            lambda t: t.share_supplement_requested * (1 - t.share_refused),
        ),
        ("late", lambda d: d.late, lambda t: expected_late_share(t)),
    ],
)
def test_shares_match_the_scenario(binh_dinh: Scenario, week: list[PlannedDossier], name, predicate, expected) -> None:
    observed, wanted = share(week, predicate), expected(binh_dinh.traffic)
    assert close(observed, wanted, len(week)), f"{name}: {observed:.4f} vs {wanted:.4f}"


def test_signed_share_among_results(binh_dinh: Scenario, week: list[PlannedDossier]) -> None:
    results = [d for d in week if not d.refused]
    assert close(share(results, lambda d: d.signed), binh_dinh.traffic.share_signed_result, len(results))
    assert not any(d.signed for d in week if d.refused)


def test_late_share_of_the_second_scenario() -> None:
    dong_nai = load_scenario("dong-nai-2020")
    plans = list(DossierPlanner(dong_nai, seed=3).days(date(2020, 9, 7), 2))
    assert close(share(plans, lambda d: d.late), expected_late_share(dong_nai.traffic), len(plans))


def test_expected_late_share_per_scenario() -> None:
    assert expected_late_share(load_scenario("binh-dinh-2023").traffic) == pytest.approx(0.0608, abs=5e-4)
    assert expected_late_share(load_scenario("dong-nai-2020").traffic) == pytest.approx(0.0927, abs=5e-4)
    accepted_only = expected_late_share(load_scenario("binh-dinh-2023").traffic, include_refused=False)
    assert accepted_only == pytest.approx(0.0608 / 0.97, abs=5e-4)


def test_expected_late_share_with_a_uniform_processing_time(binh_dinh: Scenario) -> None:
    traffic = binh_dinh.traffic.model_copy(
        update={
            "processing": Uniform(kind="uniform", low=0.2, high=1.2),
            "share_supplement_requested": 0.0,
            "share_refused": 0.0,
        }
    )
    assert expected_late_share(traffic) == pytest.approx(0.2)


# --- what each plan looks like ------------------------------------------------------------------


def test_plans_respect_the_procedures(binh_dinh: Scenario, week: list[PlannedDossier]) -> None:
    for d in week:
        assert d.agency in d.procedure.agencies
        assert not (d.channel is Channel.ONLINE and d.procedure.level == "truc_tiep")
        if d.procedure.applicants != "both":
            assert d.applicant is ApplicantKind[d.procedure.applicants.upper()]


def test_dossier_codes_are_well_formed_unique_and_counted_per_agency(week: list[PlannedDossier]) -> None:
    assert all(MA_HO_SO.match(d.code) for d in week)
    assert len({d.code for d in week}) == len(week)
    monday = [d for d in week if d.received_at.date() == MONDAY and d.agency == "000.01.21.H22"]
    assert [d.code[-4:] for d in monday] == [f"{n:04d}" for n in range(1, len(monday) + 1)]
    assert all(d.code.startswith(f"000.01.21.H22-{MONDAY:%y%m%d}-") for d in monday)


def test_plans_come_in_order_of_reception(week: list[PlannedDossier]) -> None:
    assert [d.received_at for d in week] == sorted(d.received_at for d in week)


def test_timeline_of_each_plan(week: list[PlannedDossier]) -> None:
    for d in week:
        assert d.received_at.tzinfo is not None and d.received_at.utcoffset() == timedelta(hours=7)
        assert d.received_at < d.due_at and d.received_at <= d.finished_at
        previous = d.received_at
        for supplement in d.supplements:
            assert previous <= supplement.requested_at < supplement.returned_at <= d.finished_at
            assert supplement.days >= 1
            previous = supplement.returned_at


def test_late_agrees_with_the_timestamps_when_nothing_is_paused(week: list[PlannedDossier]) -> None:
    plain = [d for d in week if not d.supplements]
    assert all((d.finished_at > d.due_at) == d.late for d in plain)
    assert any(d.late for d in plain) and any(not d.late for d in plain)


def test_two_supplement_requests_make_a_dossier_late(week: list[PlannedDossier]) -> None:
    twice = [d for d in week if len(d.supplements) == 2]
    assert twice and all(d.late for d in twice)


def test_refused_dossiers_end_early_and_on_time(week: list[PlannedDossier]) -> None:
    refused = [d for d in week if d.refused]
    assert refused
    for d in refused:
        assert not d.late and not d.supplements
        assert d.finished_at - d.received_at < timedelta(days=4)  # within the next office day or so


def test_days_off_bring_only_online_dossiers(binh_dinh: Scenario) -> None:
    saturday = plan_day(binh_dinh, 9, date(2023, 9, 16))
    holiday = plan_day(binh_dinh, 9, date(2023, 9, 4))  # National Day holiday, a Monday
    for plans in (saturday, holiday):
        assert plans and all(d.channel is Channel.ONLINE for d in plans)
        expected = binh_dinh.traffic.dossiers_per_day * binh_dinh.traffic.share_online * 0.25
        assert abs(len(plans) - expected) < 5 * math.sqrt(expected)


def test_an_online_dossier_sent_on_saturday_counts_from_monday_morning(binh_dinh: Scenario) -> None:
    plans = plan_day(binh_dinh, 11, date(2023, 9, 16))
    one_day = next(d for d in plans if d.procedure.legal_days == 1 and not d.refused)
    assert one_day.due_at == datetime(2023, 9, 18, 17, 0, tzinfo=VN_TZ)  # Monday, end of office hours


# --- the working calendar -----------------------------------------------------------------------


@pytest.fixture()
def calendar() -> WorkCalendar:
    return WorkCalendar(
        Calendar(
            start=date(2023, 8, 28),
            office_hours=["07:00-11:30", "13:30-17:00"],
            holidays=[date(2023, 9, 1), date(2023, 9, 4)],
        )
    )


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2023, 9, day, hour, minute, tzinfo=VN_TZ)


def test_working_days_skip_weekends_and_holidays(calendar: WorkCalendar) -> None:
    assert calendar.hours_per_day == 8
    assert calendar.is_working_day(date(2023, 8, 31))
    assert not calendar.is_working_day(date(2023, 9, 1))  # holiday
    assert not calendar.is_working_day(date(2023, 9, 2))  # Saturday
    # Thursday 31 Aug 10:00 + 1 working day → Tuesday 5 Sept 10:00 (Fri holiday, weekend, Mon holiday).
    assert calendar.add_office_hours(datetime(2023, 8, 31, 10, tzinfo=VN_TZ), 8) == at(5, 10)
    # Friday 8 Sept 10:00 + 3 working days → Wednesday 13 Sept 10:00.
    assert calendar.add_office_hours(at(8, 10), 24) == at(13, 10)


def test_office_time_skips_the_lunch_break_and_the_night(calendar: WorkCalendar) -> None:
    assert calendar.add_office_hours(at(5, 11), 1) == at(5, 14)
    assert calendar.add_office_hours(at(5, 16), 2) == at(6, 8)
    assert calendar.next_office_instant(at(5, 12)) == at(5, 13, 30)
    assert calendar.next_office_instant(at(5, 9)) == at(5, 9)
    assert calendar.next_office_instant(at(5, 17)) == at(6, 7)
