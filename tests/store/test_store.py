"""The store's operations give the same answers on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from hub.audit.decisions import Decision
from hub.audit.message_log import GENESIS, chained
from hub.core.clock import VN_TZ
from hub.store import Store
from tests.support import connectors
from tests.support.connectors import MOT_CUA

NDXP = {**connectors.NDXP, "systems": [], "note": "Cổng dữ liệu quốc gia — “NDXP”"}


def test_the_store_answers_its_ping(store):
    assert store.ping()


def test_connectors_are_stored_replaced_listed_and_deleted(store):
    assert store.put_connector("ndxp", NDXP) is True
    assert store.put_connector("mot-cua", MOT_CUA) is True
    assert store.connector("ndxp") == NDXP  # JSON comes back as it went in, Vietnamese text included
    assert store.connector("nobody") is None
    assert [spec["id"] for spec in store.connectors()] == ["mot-cua", "ndxp"]  # ordered by id
    replaced = {**NDXP, "consumes": ["dossier.submitted", "dossier.completed"]}
    assert store.put_connector("ndxp", replaced) is False
    assert store.connector("ndxp") == replaced and len(store.connectors()) == 2
    assert store.delete_connector("ndxp") is True
    assert store.delete_connector("ndxp") is False
    assert [spec["id"] for spec in store.connectors()] == ["mot-cua"]


def test_paused_connectors(store):
    store.put_connector("ndxp", NDXP)
    store.put_connector("mot-cua", MOT_CUA)
    assert store.paused_connectors() == set()
    assert store.set_paused("ndxp", True) is True
    assert store.paused_connectors() == {"ndxp"}
    assert store.set_paused("nobody", True) is False
    store.put_connector("ndxp", NDXP)  # registering again keeps the pause
    assert store.paused_connectors() == {"ndxp"}
    assert store.set_paused("ndxp", False) is True
    assert store.paused_connectors() == set()


def test_schema_versions_are_kept_in_order_and_a_version_is_taken_once(store):
    v2 = {"type": "object", "properties": {"MaHoSo": {"type": "string"}}, "required": ["MaHoSo"]}
    store.add_schema_version("land.parcel_updated", 2, v2)
    store.add_schema_version("land.parcel_updated", 1, {"type": "object"})
    store.add_schema_version("citizen.moved", 1, {"type": "object"})
    assert store.schema_versions() == [("citizen.moved", 1, {"type": "object"}),
                                       ("land.parcel_updated", 1, {"type": "object"}),
                                       ("land.parcel_updated", 2, v2)]
    with pytest.raises(sa.exc.IntegrityError):  # another process registered version 2 first
        store.add_schema_version("land.parcel_updated", 2, {"type": "object"})


def utc(row_at: datetime) -> datetime:
    """SQLite drops the offset (the hub stores UTC); PostgreSQL keeps it."""
    return row_at.replace(tzinfo=timezone.utc) if row_at.tzinfo is None else row_at


def test_connectivity_samples_keep_the_instant_and_the_latest_ones(store):
    start = datetime(2023, 9, 4, 7, 0, tzinfo=VN_TZ)
    for i in range(5):
        store.add_connectivity_sample((start + timedelta(hours=6 * i)).astimezone(timezone.utc), 0.1 * i, i, 10)
    store.add_connectivity_sample(start.astimezone(timezone.utc), 0.05, 1, 20)  # the same instant again: replaced
    samples = store.connectivity_samples()
    assert [utc(row["at"]) for row in samples] == [start + timedelta(hours=6 * i) for i in range(5)]
    assert (samples[0]["share"], samples[0]["connected"], samples[0]["total"]) == (0.05, 1, 20)
    latest = store.connectivity_samples(limit=2)  # the latest two, oldest first
    assert [utc(row["at"]) for row in latest] == [start + timedelta(hours=18), start + timedelta(hours=24)]
    assert latest[1]["share"] == pytest.approx(0.4)


def decision(i: int, key: str | None = None, correlation_id: str | None = None, **fields) -> Decision:
    values = dict(message_id=f"00000000-0000-7000-8000-{i:012d}", type="dossier.submitted", version=1,
                  source="mot-cua", targets=("ndxp", "lgsp-kpi"), outcome="delivered", stage=None, reason=None,
                  correlation_id=correlation_id, key=key or f"000.00.18.H22-230904-{i:04d}", payload_sha256="ab" * 32,
                  routed_at=1693785600.123456 + i / 7)
    return Decision(**(values | fields))


def test_message_log_append_head_records_and_find(store):
    assert store.log_head("w1") is None
    rows_a, head_a = chained([decision(i) for i in range(4)], "w1", GENESIS)
    rows_b, head_b = chained([decision(10, key="000.00.18.H22-230904-0001", correlation_id="c-1"),
                              decision(11, correlation_id="c-1", outcome="rejected", targets=(), stage="schema",
                                       reason="payload.MaHoSo: 'x' does not match the pattern")], "w2", GENESIS)
    store.append_log(rows_a[:2])
    store.append_log(rows_b)
    store.append_log(rows_a[2:])
    assert (store.log_head("w1"), store.log_head("w2")) == (head_a, head_b)

    records = list(store.log_records(batch=2))  # read in batches of two, in the order written
    assert [r["seq"] for r in records] == sorted(r["seq"] for r in records) and len(records) == 6
    assert [r["message_id"][-2:] for r in records] == ["00", "01", "10", "11", "02", "03"]
    first = records[0]
    assert first["targets"] == ["ndxp", "lgsp-kpi"]  # JSON text written by the driver, a list read back
    assert first["routed_at"] == 1693785600.123456  # exact: the hash covers it
    assert (first["chain"], first["prev_hash"], first["hash"]) == ("w1", GENESIS, rows_a[0][-3])

    by_key = store.find_log(key="000.00.18.H22-230904-0001")  # `key` is a reserved word in some SQL
    assert [r["message_id"][-2:] for r in by_key] == ["10", "01"]  # newest first
    assert [r["outcome"] for r in store.find_log(correlation_id="c-1")] == ["rejected", "delivered"]
    [rejected] = store.find_log(message_id=decision(11).message_id)
    assert (rejected["stage"], rejected["targets"]) == ("schema", [])
    assert len(store.find_log(limit=3)) == 3 and store.find_log(key="nothing") == []


def test_a_store_made_by_several_processes_at_once_on_an_empty_database(store_url):
    """Hub and router workers start together on a fresh database: each creates the tables it misses."""
    errors: list[BaseException] = []
    stores: list[Store] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        try:
            barrier.wait()
            stores.append(Store(store_url))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for made in stores:
        made.close()
    assert errors == []
    store = Store(store_url)
    try:
        assert store.put_connector("ndxp", NDXP) and store.connector("ndxp") == NDXP
    finally:
        store.close()


def test_agreements_keep_every_version_and_one_writer_wins(store):
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    first = {"id": "so-tu-phap.1", "version": 1, "consumer": "so-tu-phap", "fields": ["/MaHoSo"], "note": "Sở Tư pháp"}
    version = store.catalog_version()
    assert store.put_agreement(first, "created", "Nguyễn Văn A", at, None)
    assert not store.put_agreement(first, "created", "someone else", at, None)  # it exists: created once
    second = {**first, "version": 2, "fields": ["/MaHoSo", "/TrangThaiHoSo"]}
    assert not store.put_agreement(second, "changed", "B", at, 7)  # not the version read
    assert store.put_agreement(second, "changed", "Trần Thị B", at + timedelta(hours=1), 1)
    assert store.catalog_version() == version + 2  # routing reloads on each change
    assert store.agreement("so-tu-phap.1") == second and store.agreements() == [second]
    assert [(h["version"], h["change"], h["changed_by"]) for h in store.agreement_history("so-tu-phap.1")] == [
        (1, "created", "Nguyễn Văn A"), (2, "changed", "Trần Thị B")]
    assert store.agreement_version("so-tu-phap.1", 1) == first and store.agreement_version("x", 1) is None


def test_what_agreements_made_of_a_delivery_is_stored_with_its_record(store):
    sharing = {"deliveries": {"ndxp": {"agreement": "a", "version": 1, "fields": ["/MaHoSo"]}}, "withheld": {}}
    decision = Decision("m-1", "dossier.submitted", 1, "mot-cua", ("ndxp",), "delivered", None, None, None, "K",
                        "0" * 64, 1.0, sharing=sharing)
    rows, _ = chained([decision], "lgsp.decisions/0", GENESIS, ["lgsp.ingress/0/1"])
    store.append_log(rows)
    [found] = store.find_log(10, message_id="m-1")
    assert found["sharing"] and found["origin"] == "lgsp.ingress/0/1"
