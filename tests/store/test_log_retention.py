"""The message log in the store: payload modes hashed into the chain, subjects searchable by keyed hash,
pruning that leaves an anchor so the rest still verifies and a deletion is still named (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

import orjson
import sqlalchemy as sa

from hub.audit.decisions import Decision
from hub.audit.message_log import GENESIS, PEPPER, MessageLog, prune, verify
from hub.core import personal_id
from hub.settings import Settings
from hub.store import Store, message_log, message_log_anchors, message_subjects

DAY = 86400.0
NOW = 1_800_000_000.0
CITIZEN = personal_id.make("052", 1990, True, 1234)


def decisions(n: int, start: int = 0, at: float = NOW, type: str = "dossier.submitted",
              owner: str = CITIZEN) -> list[Decision]:
    made = []
    for i in range(start, start + n):
        payload = {"MaHoSo": f"H22-{i}", "ChuHoSo": {"SoDinhDanh": owner}}
        raw = orjson.dumps({"id": i, "type": type, "payload": payload})
        made.append(Decision(f"00000000-0000-7000-8000-{i:012d}", type, 1, "mot-cua", ("ndxp",), "delivered",
                             None, None, None, f"H22-{i}", None, at + i, raw=raw))
    return made


def write(store: Store, chain: str, batches: list[list[Decision]], **settings) -> MessageLog:
    async def run() -> MessageLog:
        configured = Settings(**settings)
        log = MessageLog(store, payload_modes=configured.log_payload, retention_days=configured.log_retention_days)
        await log.start()
        head = await log.head(chain)
        for batch in batches:
            head = await log.write(head, batch)
        return log
    return asyncio.run(run())


def rows(store: Store, table: sa.Table) -> list[dict]:
    with store.engine.connect() as conn:
        return [dict(row) for row in conn.execute(sa.select(table)).mappings()]


def edit(store: Store, seq: int, **values) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.update(message_log).where(message_log.c.seq == seq).values(**values))


def test_full_payloads_are_chained_so_editing_or_erasing_one_is_detected(store):
    write(store, "w", [decisions(3), decisions(2, 3, type="citizen.verify.request")],
          log_payload={"dossier.*": "full", "citizen.*": "none"})
    logged = {row["seq"]: row for row in rows(store, message_log)}
    assert orjson.loads(logged[1]["payload"])["payload"]["MaHoSo"] == "H22-0"
    assert logged[4]["payload"] is None and logged[4]["payload_sha256"] == ""  # none: neither text nor hash
    assert verify(store).checked == 5
    edit(store, 2, payload=logged[2]["payload"].replace("H22-1", "H22-9"))
    assert verify(store).broken["seq"] == 2
    edit(store, 2, payload=None)
    assert verify(store).broken["seq"] == 2


def test_the_log_finds_a_citizens_messages_by_keyed_hash_only(store):
    log = write(store, "w", [decisions(3), decisions(2, 3, owner=personal_id.make("001", 1970, False, 5)),
                             decisions(1, 5, type="citizen.verify.request")],
                log_payload={"citizen.*": "none"})
    subject = log.subject(CITIZEN)
    assert [r["seq"] for r in store.find_log(10, subject)] == [3, 2, 1]  # newest first; type "none" not indexed
    assert [r["seq"] for r in store.find_log(10, subject, key="H22-1")] == [2]
    stored = {row["subject"] for row in rows(store, message_subjects)}
    assert subject in stored and CITIZEN not in str(rows(store, message_subjects))
    assert CITIZEN not in str(rows(store, message_log))  # metadata mode: no payload, so no ID in clear


def test_the_pepper_is_made_once_and_shared_by_every_writer(store):
    first, second = write(store, "a", []), write(store, "b", [])
    assert first.subject(CITIZEN) == second.subject(CITIZEN)
    assert store.hub_value(PEPPER, lambda: "never used") != "never used"


def test_pruning_leaves_an_anchor_and_the_rest_verifies(store):
    write(store, "a", [decisions(4, at=NOW - 100 * DAY)])  # seq 1-4
    write(store, "b", [decisions(2, 20, at=NOW - 95 * DAY)])  # 5-6
    write(store, "a", [decisions(3, 10, at=NOW - 10 * DAY)])  # 7-9
    write(store, "b", [decisions(2, 30, at=NOW - DAY)])  # 10-11
    assert prune(store, 90, now=NOW) == 6
    assert verify(store).ok and verify(store).checked == 5
    anchors = {row["chain"]: row["seq"] for row in rows(store, message_log_anchors)}
    assert anchors == {"a": 4, "b": 6}
    remaining = {row["seq"] for row in rows(store, message_log)}
    assert {row["seq"] for row in rows(store, message_subjects)} == remaining  # subjects went with records
    assert prune(store, 90, now=NOW) == 0 and prune(store, 0, now=NOW + 1000 * DAY) == 0  # 0: kept for good


def test_after_a_prune_a_deletion_is_still_named(store):
    write(store, "w", [decisions(3, at=NOW - 100 * DAY), decisions(4, 3, at=NOW)])
    prune(store, 90, now=NOW)
    with store.engine.begin() as conn:
        conn.execute(sa.delete(message_log).where(message_log.c.seq == 4))  # the first record kept
    verdict = verify(store)
    assert verdict.broken["seq"] == 5 and "deleted" in verdict.broken["why"]


def test_a_chain_pruned_to_nothing_continues_from_its_anchor(store):
    write(store, "w", [decisions(3, at=NOW - 100 * DAY)])
    assert prune(store, 90, now=NOW) == 3 and store.log_head("w") not in (None, GENESIS)
    write(store, "w", [decisions(2, 3, at=NOW)])
    assert verify(store).ok and verify(store).checked == 2


def test_a_log_from_before_payload_modes_gets_its_column_and_still_verifies(store_url):
    store = Store(store_url)
    write(store, "w", [decisions(3)])
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE message_log DROP COLUMN payload")
    store.close()
    reopened = Store(store_url)
    assert verify(reopened).checked == 3 and "payload" in rows(reopened, message_log)[0]
    reopened.close()


def test_the_writer_prunes_past_its_retention(store):
    """The log indexer calls prune() on its beat (tests/bus/test_log_indexer.py); a failure waits for the next."""
    write(store, "w", [decisions(3, at=NOW - 100 * DAY)])
    asyncio.run(write(store, "w", [], log_retention_days=1).prune())
    assert rows(store, message_log) == [] and verify(store).ok
