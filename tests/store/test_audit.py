"""The hash-chained message log: intact chains verify, an edit or a deletion is named (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

import orjson
import sqlalchemy as sa

from hub.audit.decisions import Decision, decision
from hub.audit.message_log import MessageLog, verify
from hub.core.directory import Directory
from hub.core.routing import route
from hub.core.schemas.registry import SchemaRegistry, bundled_schemas_dir
from hub.store import Store, message_log
from hub.testing.samples import dossier_submitted_payload


def decisions(n: int, start: int = 0) -> list[Decision]:
    return [Decision(f"00000000-0000-7000-8000-{i:012d}", "dossier.submitted", 1, "mot-cua", ("ndxp",),
                     "delivered", None, None, None, f"K-{i}", "ab" * 32, 1700000000.0 + i)
            for i in range(start, start + n)]


def write(store: Store, chain: str, batches: list[list[Decision]]) -> None:
    async def run() -> None:
        log = MessageLog(store, chain)
        await log.start()
        for batch in batches:
            log.record(batch)
            await log.flush()
        await log.stop()
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

    logged = [decision(raw, route(raw, schemas, Directory(), 1_000_000), 1700000000.0) for raw in hostile]
    write(store, "w", [logged, decisions(2)])
    verdict = verify(store)
    assert verdict.ok and verdict.checked == 5
    records = list(store.log_records())
    assert [r["outcome"] for r in records] == ["rejected"] * 3 + ["delivered"] * 2
    assert records[0]["key"] == "000.00.18.H22-231115-\ufffd0001"  # the NUL kept as U+FFFD
    assert records[1]["version"] is None  # the version is not kept when no store column holds it


def test_the_router_can_wait_until_its_decisions_are_stored(store, monkeypatch):
    """record() returns a mark; wait_written(mark) returns once every decision up to it is in the store,
    written CHUNK at a time (a long backlog never becomes one huge transaction)."""
    import hub.audit.message_log

    monkeypatch.setattr(hub.audit.message_log, "CHUNK", 400)
    transactions: list[int] = []
    append = store.append_log
    monkeypatch.setattr(store, "append_log", lambda rows, subjects=(): (transactions.append(len(rows)),
                                                                          append(rows, subjects)))

    async def run() -> tuple[int, int]:
        log = MessageLog(store, "w", flush_seconds=30)  # no timer: only wait_written makes it write
        await log.start()
        log.record(decisions(1000))
        mark = log.record(decisions(500, 1000))
        await asyncio.wait_for(log.wait_written(mark), 30)
        written = log.written
        await log.stop()
        return mark, written

    mark, written = asyncio.run(run())
    assert mark == written == 1500 and max(transactions) <= 400 and sum(transactions) == 1500
    assert verify(store).ok and verify(store).checked == 1500


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
