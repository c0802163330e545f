"""The scenario's official documents: what each e-office sends and how each receiver handles it (pure planning)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest

from province.documents import ARRIVED, COMPLETED, REFUSED, DocumentPlanner, handling, month_of
from province.scenario import ScenarioError, bundled_scenarios_dir, load_scenario
from province.traffic import WorkCalendar

SCENARIO = load_scenario("binh-dinh-2023")


def plans(days: int, seed: int = 7):
    planner = DocumentPlanner(SCENARIO, seed)
    first = SCENARIO.calendar.start
    return [plan for n in range(days) for plan in planner.day(first + timedelta(days=n))]


def test_the_same_seed_plans_the_same_documents_and_each_has_its_own_id():
    first, again = plans(20), plans(20)
    assert first == again and len(first) > 300
    assert len({plan.document_id for plan in first}) == len(first)
    assert all(plan.sender not in plan.recipients and set(plan.recipients) <= set(SCENARIO.documents.agencies)
               for plan in first)
    assert all(plan.sent_at.weekday() < 5 for plan in first)


def test_the_share_sent_with_paper_moves_toward_the_target_month_by_month():
    by_month = defaultdict(list)
    for plan in plans(210):
        by_month[month_of(SCENARIO, plan.sent_at.date())].append(plan.paper)
    paper = SCENARIO.documents.paper
    shares = {month: sum(flags) / len(flags) for month, flags in sorted(by_month.items())}
    for month, share in shares.items():
        assert share == pytest.approx(paper.at(month), abs=0.06), (month, share)
    assert shares[0] > 0.25 and shares[max(shares)] < 0.1


def test_a_receiver_refuses_or_walks_the_document_to_completed_and_some_are_late():
    calendar, documents = WorkCalendar(SCENARIO.calendar), SCENARIO.documents
    late = with_due = refused = 0
    for plan in plans(30):
        for receiver in plan.recipients:
            steps = handling(documents, calendar, 7, plan.document_id, receiver, plan.sent_at)
            assert steps == handling(documents, calendar, 7, plan.document_id, receiver, plan.sent_at)
            assert steps[0].code == ARRIVED and [s.at for s in steps] == sorted(s.at for s in steps)
            if steps[-1].code == REFUSED:
                refused += 1
                continue
            assert [s.code for s in steps] == ["01", "03", "04", "05", COMPLETED]
            if plan.due is not None:
                with_due += 1
                late += steps[-1].at.date() > plan.due
    assert 0 < refused and 0.1 < late / with_due < 0.4


def test_documents_name_known_agencies(tmp_path):
    text = (bundled_scenarios_dir() / "binh-dinh-2023.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('agencies = ["000.00.10.H22",', 'agencies = ["000.00.99.H22",', 1))
    with pytest.raises(ScenarioError, match=r"documents\.agencies: 000\.00\.99\.H22 is not one of the agencies"):
        load_scenario(bad)
