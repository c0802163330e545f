"""Document indicators on a hand-made autumn of documents, every figure computed by hand.

Agencies: A (Sở Tư pháp), B (Sở Kế hoạch và Đầu tư), C (Sở Xây dựng). Each document is sent at 08:00 on
its promulgation date (yyyy/MM/dd), one message per receiver.

  D1 A → B, C  09/04 electronic due 09/10  B completes 09/08 (on time), C 09/13 (3 days late)
  D2 A → B     09/15 paper      due 09/20  B: arrived, accepted, then refused 09/16
  D3 B → A, C  10/02 electronic due 10/05  A completes 10/05 17:00 (on time, its due day); C silent: open, late
               at as_of; B, not a receiver, says completed: ignored
  D4 B → A     10/03 electronic no due     not expected to be processed
  D5 C → A     10/04 electronic due 10/20  an update moves its due date to 10/06: A silent, open and late
  D6 A → C     10/06 paper      due 10/09  revoked 10/07: C's expectation closed, not processed
  D7 C → B     10/08 electronic due 10/09  B's completion (10/12 10:00, 3 days late) read before the document

Documents 7, electronic 5 (5/7, below 90%); 2023-09: 2 of which 1 electronic, 2023-10: 5 of which 4.
Senders: A 1/3, B 2/2, C 2/2. Revoked 1. The latest event is B's completion of D7, 10/12 10:00: the
default as_of. Receivers: A processed 1 (on time), open 1 (late); B processed 2 (1 on time, 1 late by 3
days), refused 1; C processed 1 (late by 3 days), open 1 (late).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from hub.core.clock import VN_TZ
from hub.core.inventory import Inventory
from hub.core.schemas.registry import SchemaRegistry, bundled_schemas_dir
from hub.operator.kpi import DocumentIndicators
from hub.operator.kpi.display import documents_shown
from tests.support.documents import NAMES, sent, status

A, B, C = "000.00.01.H22", "000.00.02.H22", "000.00.03.H22"


def inventory(target: float = 0.9) -> Inventory:
    return Inventory.model_validate({
        "province": {"name": "Bình Định", "code": "052", "targets": {
            "connected_systems": 0.6, "online_dossiers": 0.3, "signed_results": 1.0, "electronic_documents": target}},
        "agencies": [{"code": code, "name": name, "level": "province"} for code, name in NAMES.items()],
        "systems": [{"id": "vpdt", "name": "Văn phòng điện tử", "owner": A, "level": "province",
                     "kind": "shared_platform", "serves_citizens_businesses": False}],
    })


D1 = sent(A, [B, C], "2023/09/04", 1, paper=0, due="2023/09/10")
D2 = sent(A, [B], "2023/09/15", 2, paper=1, due="2023/09/20")
D3 = sent(B, [A, C], "2023/10/02", 3, paper=0, due="2023/10/05")
D4 = sent(B, [A], "2023/10/03", 4, paper=0)
D5 = sent(C, [A], "2023/10/04", 5, paper=0, due="2023/10/20")
D6 = sent(A, [C], "2023/10/06", 6, paper=1, due="2023/10/09")
D7 = sent(C, [B], "2023/10/08", 7, paper=0, due="2023/10/09")


def feed() -> list[tuple[str, dict[str, Any], str]]:
    """The messages in the order the hub routes them, each with its id; D1 goes out once per receiver."""
    messages = [
        ("document.sent", D1), ("document.sent", D1),
        ("document.status", status(B, D1, "06", "2023/09/08 10:00:00")),
        ("document.status", status(C, D1, "06", "2023/09/13 09:00:00")),
        ("document.sent", D2),
        ("document.status", status(B, D2, "01", "2023/09/15 09:00:00")),
        ("document.status", status(B, D2, "03", "2023/09/15 10:00:00")),
        ("document.status", status(B, D2, "02", "2023/09/16 08:30:00")),
        ("document.sent", D3), ("document.sent", D3),
        ("document.status", status(A, D3, "06", "2023/10/05 17:00:00")),
        ("document.status", status(B, D3, "06", "2023/10/05 18:00:00")),
        ("document.sent", D4),
        ("document.sent", D5),
        ("document.sent", {**sent(C, [A], "2023/10/04", 5, paper=0, due="2023/10/06", kind=2)}),
        ("document.sent", D6),
        ("document.sent", sent(A, [C], "2023/10/06", 6, paper=1, kind=1)),
        ("document.status", status(B, D7, "06", "2023/10/12 10:00:00")),
        ("document.sent", D7),
    ]
    return [(type, payload, f"m{i}") for i, (type, payload) in enumerate(messages, 1)]


@pytest.fixture
def indicators() -> DocumentIndicators:
    kpi = DocumentIndicators(inventory())
    for type, payload, message_id in feed():
        kpi.observe(type, payload, message_id)
    return kpi


def test_the_feed_is_what_the_schemas_accept() -> None:
    registry = SchemaRegistry.from_dirs(bundled_schemas_dir())
    for type, payload, _ in feed():
        assert registry.validate(type, 1, payload) == [], (type, payload)


def test_electronic_share_overall_against_the_target(indicators: DocumentIndicators) -> None:
    report = indicators.report()
    assert report["as_of"] == "2023-10-12T10:00:00+07:00"
    c = report["cumulative"]
    assert (c["documents"], c["electronic"], c["revoked"]) == (7, 5, 1)
    assert c["electronic_share"] == pytest.approx(5 / 7)
    assert (c["electronic_target"], c["electronic_met"]) == (0.9, False)


def test_electronic_share_per_month_and_per_sender(indicators: DocumentIndicators) -> None:
    report = indicators.report()
    assert report["monthly"] == [
        {"month": "2023-09", "documents": 2, "electronic": 1, "share": 0.5, "met": False},
        {"month": "2023-10", "documents": 5, "electronic": 4, "share": 0.8, "met": False}]
    assert report["by_sender"] == [  # lowest share first: what keeps the province from its target
        {"agency": A, "name": "Sở Tư pháp", "documents": 3, "electronic": 1, "share": pytest.approx(1 / 3),
         "met": False},
        {"agency": B, "name": "Sở Kế hoạch và Đầu tư", "documents": 2, "electronic": 2, "share": 1.0, "met": True},
        {"agency": C, "name": "Sở Xây dựng", "documents": 2, "electronic": 2, "share": 1.0, "met": True}]


def row(agency: str, **figures: int) -> dict[str, Any]:
    return {"agency": agency, "name": NAMES[agency], "processed": 0, "on_time": 0, "late": 0, "refused": 0,
            "days_late": 0, "days_late_max": 0, "open": 0, "open_late": 0, **figures}


def test_processing_per_receiving_agency(indicators: DocumentIndicators) -> None:
    report = indicators.report()
    assert report["late_by_agency"] == [  # most late first, then most open late
        row(C, processed=1, late=1, days_late=3, days_late_max=3, open=1, open_late=1),
        row(B, processed=2, on_time=1, late=1, refused=1, days_late=3, days_late_max=3),
        row(A, processed=1, on_time=1, open=1, open_late=1)]
    c = report["cumulative"]
    assert {key: c[key] for key in ("processed", "on_time", "late", "refused", "open", "open_late")} == {
        "processed": 4, "on_time": 2, "late": 2, "refused": 1, "open": 2, "open_late": 2}


def test_open_documents_are_measured_at_the_given_day(indicators: DocumentIndicators) -> None:
    """On D3's due day nothing open is late yet (D5 is due the next day); the counts stay those of every event."""
    report = indicators.report(datetime(2023, 10, 5, 12, 0, tzinfo=VN_TZ))
    assert report["as_of"] == "2023-10-05T12:00:00+07:00"
    assert (report["cumulative"]["open"], report["cumulative"]["open_late"]) == (2, 0)
    assert report["cumulative"]["late"] == 2
    assert [r["open_late"] for r in report["late_by_agency"]] == [0, 0, 0]
    late = indicators.report(datetime(2023, 10, 6, 0, 0, tzinfo=VN_TZ))  # C's D3 is late from the day after
    assert {r["agency"]: r["open_late"] for r in late["late_by_agency"]} == {A: 0, B: 0, C: 1}
    with pytest.raises(ValueError, match="timezone-aware"):
        indicators.report(datetime(2023, 10, 5))


def test_every_message_read_twice_counts_once(indicators: DocumentIndicators) -> None:
    once = indicators.report()
    for type, payload, message_id in feed():
        indicators.observe(type, payload, message_id)
    assert indicators.report() == once


def test_the_display_adds_on_time_shares(indicators: DocumentIndicators) -> None:
    shown = documents_shown(indicators.report())
    assert shown["cumulative"]["on_time_share"] == 0.5
    assert [(r["agency"], r["on_time_share"]) for r in shown["late_by_agency"]] == [(C, 0.0), (B, 0.5), (A, 1.0)]
    empty = documents_shown(DocumentIndicators().report())
    assert empty["cumulative"]["on_time_share"] is None and empty["late_by_agency"] == []
    assert empty["cumulative"]["electronic_met"] is None and shown["cumulative"]["electronic_met"] is False


def test_without_an_inventory_the_default_target_and_an_empty_report() -> None:
    report = DocumentIndicators().report()
    assert report["as_of"] is None and report["monthly"] == [] and report["by_sender"] == []
    c = report["cumulative"]
    assert (c["documents"], c["electronic_share"], c["electronic_target"], c["electronic_met"]) == (0, None, 0.9, False)


def test_the_inventory_target_is_used_and_can_change() -> None:
    kpi = DocumentIndicators(inventory(0.7))
    kpi.observe("document.sent", D3, "m1")
    kpi.observe("document.sent", D2, "m2")
    assert kpi.report()["cumulative"]["electronic_met"] is False  # 1/2 < 0.7
    kpi.use(inventory(0.5))
    c = kpi.report()["cumulative"]
    assert (c["electronic_target"], c["electronic_met"]) == (0.5, True)


def test_updates_and_replacements_are_no_new_documents() -> None:
    kpi = DocumentIndicators()
    kpi.observe("document.sent", sent(A, [B], "2023/09/04", 1, kind=2), "m1")  # of a document not seen: ignored
    kpi.observe("document.sent", D1, "m2")
    kpi.observe("document.sent", sent(A, [B, C], "2023/09/04", 1, kind=3), "m3")
    c = kpi.report()["cumulative"]
    assert (c["documents"], c["revoked"], c["open"]) == (1, 0, 2)


def test_only_the_open_documents_are_held() -> None:
    kpi = DocumentIndicators(closed_window=100)
    for n in range(1, 1001):
        document = sent(A, [B], "2023/09/04", n, due="2023/09/10")
        kpi.observe("document.sent", document, f"s{n}")
        kpi.observe("document.status", status(B, document, "06", "2023/09/05 10:00:00"), f"c{n}")
    kpi.observe("document.sent", D2, "open")
    kpi.observe("document.status", status(C, D3, "06", "2023/10/05 10:00:00"), "early")  # its document unseen
    assert kpi.held() == {"open": 1, "closed_remembered": 100, "early": 1}
    c = kpi.report()["cumulative"]
    assert (c["documents"], c["processed"], c["on_time"], c["open"]) == (1001, 1000, 1000, 1)


def test_a_revocation_read_before_its_document_leaves_nothing_to_process():
    indicators = DocumentIndicators(None)
    document = sent(A, [B], "2023/09/04", 9, due="2023/09/08")
    indicators.observe("document.sent", sent(A, [B], "2023/09/04", 9, kind=1), "r1")
    indicators.observe("document.sent", document, "r2")
    report = indicators.report()
    assert report["cumulative"]["documents"] == 1 and report["cumulative"]["revoked"] == 1
    assert report["cumulative"]["open"] == 0
