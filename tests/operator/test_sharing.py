"""The agreements card's answer: each agreement's state per party, deliveries withheld, the display order."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hub.core.agreements import Agreement
from hub.core.directory import ConnectorSpec
from hub.operator.sharing import sharing_shown

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def agreement(id: str, provider: str, consumer: str, **when: datetime | None) -> Agreement:
    return Agreement(id=id, version=1, provider=provider, consumer=consumer, types=["dossier.submitted"],
                     fields=["/MaHoSo"], purpose={"code": "THONG_KE", "text": "Thống kê"}, legal_basis="NĐ 47/2020",
                     valid_from=when.get("valid_from", NOW - timedelta(days=10)), valid_to=when.get("valid_to"),
                     ended_at=when.get("ended_at"), changed_at=NOW, changed_by="test")


def test_rows_put_deliveries_withheld_first_then_agreements_in_force():
    agreements = [agreement("a-current", "mot-cua", "thong-ke"),
                  agreement("b-ended", "mot-cua", "bao-hiem", ended_at=NOW - timedelta(days=1)),
                  agreement("c-expired", "ndxp", "bao-hiem", valid_to=NOW - timedelta(days=2)),
                  agreement("d-pending", "ndxp", "thue", valid_from=NOW + timedelta(days=1))]
    connectors = {"mot-cua": ConnectorSpec(id="mot-cua", name="Một cửa", agency="000.00.01.H22")}
    shown = sharing_shown(connectors, agreements, {("bao-hiem", "dossier.submitted"): 3,
                                                   ("bao-hiem", "dossier.completed"): 1}, NOW.timestamp())
    rows = {row["id"]: row for row in shown["connectors"]}
    assert [row["id"] for row in shown["connectors"]] == ["bao-hiem", "mot-cua", "thong-ke", "ndxp", "thue"]
    assert (shown["in_force"], shown["not_in_force"], shown["withheld"]) == (1, 3, 4)
    bao_hiem = rows["bao-hiem"]
    assert (bao_hiem["withheld"], bao_hiem["alert"], bao_hiem["in_force"]) == (4, True, [])
    assert bao_hiem["withheld_by_type"] == [{"type": "dossier.submitted", "count": 3},
                                            {"type": "dossier.completed", "count": 1}]
    assert [(p["id"], p["state"], p["role"], p["counterpart"]) for p in bao_hiem["not_in_force"]] == [
        ("b-ended", "ended", "consumer", "mot-cua"), ("c-expired", "expired", "consumer", "ndxp")]
    assert rows["mot-cua"]["name"] == "Một cửa" and rows["thong-ke"]["name"] is None
    assert [(p["id"], p["role"], p["purpose"]) for p in rows["mot-cua"]["in_force"]] == [
        ("a-current", "provider", "THONG_KE")]
    assert rows["thue"]["not_in_force"][0]["state"] == "pending" and not rows["thue"]["alert"]
