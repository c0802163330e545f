"""The hash-chained message log: intact chains verify, an edit or a deletion is named."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from hub.audit import Decision, MessageLog, verify
from hub.store import Store, message_log


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


def test_intact_chains_verify(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'log.db'}")
    write(store, "worker-a", [decisions(5), decisions(5, 5)])
    write(store, "worker-b", [decisions(3, 100)])
    write(store, "worker-a", [decisions(2, 10)])  # a restart continues its chain from the stored head
    verdict = verify(store)
    assert verdict.ok and verdict.checked == 15


def test_an_edited_record_is_named(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'log.db'}")
    write(store, "w", [decisions(6)])
    with store.engine.begin() as conn:
        conn.execute(sa.update(message_log).where(message_log.c.seq == 4).values(targets=["so-tai-chinh"]))
    verdict = verify(store)
    assert not verdict.ok and verdict.broken["seq"] == 4 and "edited" in verdict.broken["why"]
    assert verdict.checked == 3


def test_a_deleted_record_is_named_by_its_successor(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'log.db'}")
    write(store, "w", [decisions(6)])
    with store.engine.begin() as conn:
        conn.execute(sa.delete(message_log).where(message_log.c.seq == 3))
    verdict = verify(store)
    assert not verdict.ok and verdict.broken["seq"] == 4 and "deleted" in verdict.broken["why"]
