"""The hash-chained message log: intact chains verify, an edit or a deletion is named (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

import orjson
import pytest
import sqlalchemy as sa

from hub.audit.decisions import Decision, decode, record
from hub.audit.message_log import ChainHead, MessageLog, verify
from hub.core.directory import Directory
from hub.core.routing import route
from hub.core.schemas.registry import SchemaRegistry, bundled_schemas_dir
from hub.store import PositionMoved, Store, message_log
from hub.testing.samples import dossier_submitted_payload


def decisions(n: int, start: int = 0) -> list[Decision]:
    return [Decision(f"00000000-0000-7000-8000-{i:012d}", "dossier.submitted", 1, "mot-cua", ("ndxp",),
                     "delivered", None, None, None, f"K-{i}", "ab" * 32, 1700000000.0 + i)
            for i in range(start, start + n)]


def write(store: Store, chain: str, batches: list[list[Decision]]) -> None:
    async def run() -> None:
        log = MessageLog(store)
        await log.start()
        head = await log.head(chain)  # a chain continues from its stored head
        for batch in batches:
            head = await log.write(head, batch)
    asyncio.run(run())


def test_intact_chains_verify(store):
    write(store, "worker-a", [decisions(5), decisions(5, 5)])
    write(store, "worker-b", [decisions(3, 100)])
    write(store, "worker-a", [decisions(2, 10)])  # a restart continues its chain from the stored head
    verdict = verify(store)
    assert verdict.ok and verdict.checked == 15


def test_an_edited_record_is_named(store):
    write(store, "w", [decisions(6)])
    with store.engine.begin() as conn:
        conn.execute(sa.update(message_log).where(message_log.c.seq == 4).values(targets=["so-tai-chinh"]))
    verdict = verify(store)
    assert not verdict.ok and verdict.broken["seq"] == 4 and "edited" in verdict.broken["why"]
    assert verdict.checked == 3


def test_a_deleted_record_is_named_by_its_successor(store):
    write(store, "w", [decisions(6)])
    with store.engine.begin() as conn:
        conn.execute(sa.delete(message_log).where(message_log.c.seq == 3))
    verdict = verify(store)
    assert not verdict.ok and verdict.broken["seq"] == 4 and "deleted" in verdict.broken["why"]


def test_any_envelope_the_router_decides_on_can_be_logged(store):
    """A NUL in an ordering key or a reason, a version past 32 bits: valid envelopes a store column refuses
    as they are (PostgreSQL text holds no NUL; its integer is 32 bits). One such record must not hold up the
    log, and what is stored still verifies."""
    schemas = SchemaRegistry.from_dirs(bundled_schemas_dir())
    envelope = {"id": "00000000-0000-7000-8000-000000000001", "type": "dossier.submitted", "version": 1,
                "source": "mot-cua", "key": "000.00.18.H22-231115-\x000001",
                "occurred_at": "2023-11-15T08:30:00+07:00", "payload": dossier_submitted_payload()}
    hostile = [orjson.dumps(envelope), orjson.dumps(envelope | {"version": 2**40, "key": "K"}),
               orjson.dumps(envelope | {"id": "\x00"})]

    logged = [decode(*record(raw, route(raw, schemas, Directory(), 1_000_000), 1700000000.0)[1:]) for raw in hostile]
    write(store, "w", [logged, decisions(2)])
    verdict = verify(store)
    assert verdict.ok and verdict.checked == 5
    records = list(store.log_records())
    assert [r["outcome"] for r in records] == ["rejected"] * 3 + ["delivered"] * 2
    assert records[0]["key"] == "000.00.18.H22-231115-\ufffd0001"  # the NUL kept as U+FFFD
    assert records[1]["version"] is None  # the version is not kept when no store column holds it


def test_a_chain_is_stored_with_its_source_position_all_or_nothing(store):
    """The rows and the partition's next offset are one transaction: a write from a stale position (another
    writer moved it) stores nothing, and the chain goes on from what is stored."""
    async def run() -> ChainHead:
        log = MessageLog(store)
        await log.start()
        head = await log.write(await log.head("d/0"), decisions(3), next_offset=3)
        stale = await log.head("d/0")
        await log.write(head, decisions(2, 3), next_offset=5)
        with pytest.raises(PositionMoved):
            await log.write(stale, decisions(2, 100), next_offset=5)
        return await log.head("d/0")

    head = asyncio.run(run())
    assert head.next_offset == 5 and store.log_position("d/0") == 5
    assert verify(store).ok and verify(store).checked == 5
    assert [r["message_id"][-3:] for r in store.log_records()] == ["000", "001", "002", "003", "004"]


def test_a_decision_whose_origin_is_stored_is_skipped_before_it_is_chained(store):
    """The router may publish a decision twice (tansu is at-least-once): its origin is stored once. A
    decision from the HTTP edge has no origin and is never a duplicate."""
    made = [d._replace(origin=f"lgsp.ingress/0/{i}") for i, d in enumerate(decisions(4))]
    edge = decisions(2, 50)
    write(store, "d/0", [made[:3], [made[2], made[3], made[0], *edge, *edge]])
    records = list(store.log_records())
    assert [r["origin"] for r in records] == [d.origin for d in made] + [None] * 4
    assert verify(store).ok and verify(store).checked == 8  # the skipped ones left no hole in the chain
    assert store.logged_origins([made[1].origin, "lgsp.ingress/0/99"]) == {made[1].origin}


def rejected(i: int, **cause: str) -> Decision:
    return decisions(1, i)[0]._replace(outcome="rejected", targets=(), stage="schema",
                                       reason="payload.MaHoSo: 'x' does not match [rule: pattern]", **cause)


def test_a_rejection_keeps_its_field_and_rule_as_hashed_columns(store):
    write(store, "w", [[rejected(0, field="payload.MaHoSo", rule="pattern"), *decisions(1, 1)]])
    first, delivered = store.log_records()
    assert (first["stage"], first["field"], first["rule"]) == ("schema", "payload.MaHoSo", "pattern")
    assert (delivered["field"], delivered["rule"]) == (None, None)
    assert verify(store).ok
    with store.engine.begin() as conn:
        conn.execute(sa.update(message_log).where(message_log.c.seq == first["seq"]).values(rule="enum"))
    assert not verify(store).ok and verify(store).broken["seq"] == first["seq"]


def test_a_log_from_before_the_field_and_rule_columns_opens_and_still_verifies(store_url):
    """Records written before the columns existed hash without them; the store adds the columns when it opens."""
    old = Store(store_url)
    write(old, "w", [[rejected(0), *decisions(2, 1)]])  # no field or rule: as such records were written
    with old.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE message_log DROP COLUMN field")
        conn.exec_driver_sql("ALTER TABLE message_log DROP COLUMN rule")
    old.close()
    store = Store(store_url)
    try:
        write(store, "w", [[rejected(10, field="payload.MaHoSo", rule="pattern")]])
        assert verify(store).ok and verify(store).checked == 4
        assert [(r["field"], r["rule"]) for r in store.log_records()] == [(None, None)] * 3 + [
            ("payload.MaHoSo", "pattern")]
    finally:
        store.close()


def test_a_log_from_before_the_origin_column_opens_and_still_verifies(store_url):
    """Origin is not hashed: records from before it verify; the store adds the column and its index."""
    old = Store(store_url)
    write(old, "w", [decisions(3)])
    with old.engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_message_log_origin")
        conn.exec_driver_sql("ALTER TABLE message_log DROP COLUMN origin")
    old.close()
    store = Store(store_url)
    try:
        write(store, "w", [[d._replace(origin="lgsp.ingress/0/7") for d in decisions(1, 3)] * 2])
        assert verify(store).ok and verify(store).checked == 4
        assert "ix_message_log_origin" in {i["name"] for i in sa.inspect(store.engine).get_indexes("message_log")}
    finally:
        store.close()
