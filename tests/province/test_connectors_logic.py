"""Pure logic of the bundled connectors and the SDK: lifecycles, national mapping, de-duplication."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from hub.core.deadlines import is_late
from hub.core.envelope import Envelope
from hub.sdk import Message
from hub.sdk.dedup import SeenIds
from province.connectors.dossier_system import lifecycle
from province.connectors.ndxp.connector import NationalPlatform
from province.connectors.ndxp.national import portal_date, to_national
from province.scenario import load_scenario
from province.traffic import DossierPlanner


@pytest.fixture(scope="module")
def plans():
    planner = DossierPlanner(load_scenario("binh-dinh-2023"), seed=3, volume=0.2)
    return planner.day(date(2023, 11, 6)) + planner.day(date(2023, 11, 7))


APPLICANT = {"HoVaTen": "Trần Văn Bình", "SoDinhDanh": "052085000123", "NgaySinh": "1985-02-01"}


def test_every_lifecycle_message_fits_its_schema_and_is_in_time_order(plans, schemas):
    for plan in plans:
        events = lifecycle.refusal(plan, "x") if plan.refused else lifecycle.processing(plan)
        submitted = lifecycle.submitted(plan, dict(APPLICANT), 1 if plan.refused else 2)
        assert schemas.validate("dossier.submitted", 1, submitted) == []
        for event in events:
            assert schemas.validate(event.type, 1, event.payload) == [], (event.type, event.payload)
        assert [e.at for e in events] == sorted(e.at for e in events)
        assert events[-1].type == "dossier.completed"


def test_accepted_dossier_walks_the_status_codes(plans):
    supplemented = next(p for p in plans if p.supplements and not p.refused)
    statuses = [e.payload["TrangThaiHoSo"] for e in lifecycle.processing(supplemented)]
    assert statuses[0] == 4 and statuses[-3:] == [9, 10, 10]
    assert statuses.count(5) == len(supplemented.supplements)


def test_completed_message_carries_the_plans_lateness(plans):
    accepted = [p for p in plans if not p.refused and len(p.supplements) <= 1]
    agree = sum(is_late(lifecycle.processing(p)[-1].payload) == p.late for p in accepted)
    assert agree / len(accepted) > 0.98  # supplement days are calendar days in the rule, office time in the plan


def test_late_rule():
    base = {"NgayHenTra": "2023-11-10T17:00:00+07:00", "NgayKetThucXuLy": "2023-11-12T10:00:00+07:00"}
    assert is_late(base)
    assert not is_late({**base, "SoNgayBoSung": 2.0})  # the citizen's supplement time is subtracted
    assert is_late({**base, "SoNgayBoSung": 2.0, "SoLanBoSung": 2})  # more than one supplement: late
    assert not is_late({**base, "NgayKetThucXuLy": "2023-11-10T16:59:59+07:00"})


def test_portal_dates_are_vietnam_local():
    assert portal_date("2023-11-15T01:30:00+00:00") == "20231115083000"
    record, problems = to_national("dossier.status_changed", {"MaHoSo": "X", "TrangThaiHoSo": 4,
                                                               "ThoiDiem": "2023-11-15T08:30:00+07:00"})
    assert problems == [] and record["ThoiDiem"] == "20231115083000"


def test_national_field_set_refusals_name_the_field():
    _, problems = to_national("dossier.submitted", {"MaHoSo": "X", "TrangThaiHoSo": 12, "NgayTiepNhan": "hôm qua"})
    assert any(p.startswith("MaTTHC") for p in problems)
    assert any(p.startswith("NgayTiepNhan: not a date-time") for p in problems)
    assert any(p.startswith("TrangThaiHoSo") for p in problems)


def test_seen_ids_drop_duplicates_within_a_bounded_memory():
    seen = SeenIds(capacity=3)
    ids = [uuid4() for _ in range(4)]
    assert [seen.add(i) for i in ids[:3]] == [True, True, True]
    assert seen.add(ids[0]) is False
    seen.add(ids[3])  # evicts the least recently seen: ids[1]
    assert len(seen) == 3 and ids[1] not in seen and seen.add(ids[1]) is True


async def sync_all(ndxp: NationalPlatform, plans, open_plans: int) -> int:
    """Every plan's events through NDXP, receipts dropped; the first `open_plans` stop after their submission."""
    async def reply(message, type, payload):
        pass

    ndxp.connector.reply = reply
    synced = 0
    for n, plan in enumerate(plans):
        events = [("dossier.submitted", lifecycle.submitted(plan, dict(APPLICANT), 1 if plan.refused else 2))]
        if n >= open_plans:
            events += [(e.type, e.payload) for e in (lifecycle.refusal(plan, "x") if plan.refused
                                                     else lifecycle.processing(plan))]
        for type, payload in events:
            await ndxp._sync(Message(Envelope.new(type, 1, "mot-cua", payload, key=plan.code), payload))
            synced += 1
    return synced


async def test_ndxp_holds_the_open_dossiers_only_and_counts_every_event(plans):
    ndxp = NationalPlatform()
    synced = await sync_all(ndxp, plans, open_plans=3)
    assert len(plans) > 100 and ndxp.synced == synced and ndxp.refused == 0
    assert set(ndxp.dossiers) == {plan.code for plan in plans[:3]}
    assert (ndxp.events, ndxp.completions) == ({}, {})


async def test_ndxp_keeps_every_event_and_completion_when_asked(plans):
    ndxp = NationalPlatform(keep_records=True)
    synced = await sync_all(ndxp, plans, open_plans=3)
    assert len(ndxp.events) == synced and set(ndxp.completions) == {plan.code for plan in plans[3:]}
