"""Opening the store's database: SQLite set up for several processes, and the tables created once."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_fixed

from hub.store.tables import metadata


def now() -> datetime:
    return datetime.now(timezone.utc)


def open_engine(url: str) -> sa.Engine:
    """An engine on `url` whose tables exist (and have their current columns)."""
    engine = sa.create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_for_several_processes)
        _use_wal(engine)
    with engine.begin() as conn:  # processes starting together: one at a time creates what is missing
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(5420231)"))
        elif conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        metadata.create_all(conn)
    return engine


def _sqlite_for_several_processes(dbapi_connection: Any, _record: Any) -> None:
    """NORMAL sync in WAL mode: a commit is one write, not an fsync per transaction (durable across a
    process crash, which is what at-least-once needs)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@retry(retry=retry_if_exception_type(sa.exc.OperationalError), stop=stop_after_attempt(50),
       wait=wait_fixed(0.05), reraise=True)
def _use_wal(engine: sa.Engine) -> None:
    """WAL (kept in the file): readers such as the API never wait on the message log's writer. Switching
    needs the file to itself, so a process starting beside others may have to try again."""
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
