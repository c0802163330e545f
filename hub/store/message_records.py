"""The message log's records, hash-chained by hub.audit.message_log: append, read, search, prune; and how
far the log indexer has stored each chain's source partition."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from hub.store.attachments import record_references
from hub.store.tables import message_log, message_log_anchors, message_log_positions, message_subjects

ROW_COLUMNS = [column.name for column in message_log.columns if column.name != "seq"]  # a row's order


class PositionMoved(Exception):
    """Another writer stored this chain since its position was read: the append is undone."""


class MessageLogRows:
    engine: sa.Engine

    def append_log(self, rows: list[tuple], subjects: list[tuple[int, str]] = (),
                   position: tuple[str, int | None, int] | None = None,
                   references: list[tuple[str, str, str, str]] = ()) -> None:
        """Rows of one chain in ROW_COLUMNS order, through the driver's executemany: the log must keep up.
        `subjects` pairs a row's index in `rows` with a subject hash, stored in the same transaction, and so is
        `position` (chain, next offset as read, next offset now): if the stored one moved, PositionMoved; and
        so are `references`, (attachment id, message id, consumer, source) of the deliveries (hub.store.attachments)."""
        with self.engine.begin() as conn:
            if position is not None:
                _advance(conn, *position)  # first: on PostgreSQL it locks the chain's position row
            if rows:
                self._insert_many(conn, "message_log", ROW_COLUMNS, rows)
            if subjects:
                seqs = _last_seqs(conn, rows[0][ROW_COLUMNS.index("chain")], len(rows))
                self._insert_many(conn, "message_subjects", ["subject", "seq"],
                                  [(subject, seqs[index]) for index, subject in subjects])
            if references:
                record_references(conn, references)

    def _insert_many(self, conn: sa.Connection, table: str, names: list[str], rows: list[tuple]) -> None:
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        columns = ", ".join(f'"{name}"' for name in names)
        conn.exec_driver_sql(f"INSERT INTO {table} ({columns}) VALUES ({', '.join([mark] * len(names))})", rows)

    def log_head(self, chain: str) -> str | None:
        """The hash a chain's next record links to: its newest record's, or its anchor's once all were pruned."""
        with self.engine.connect() as conn:
            newest = conn.execute(sa.select(message_log.c.hash).where(message_log.c.chain == chain)
                                  .order_by(message_log.c.seq.desc()).limit(1)).scalar()
            return newest or conn.execute(sa.select(message_log_anchors.c.hash)
                                          .where(message_log_anchors.c.chain == chain)).scalar()

    def log_position(self, chain: str) -> int | None:
        """The offset of the next decision the chain's source partition holds for it; None: nothing stored yet."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(message_log_positions.c.next_offset)
                                .where(message_log_positions.c.chain == chain)).scalar()

    def logged_origins(self, origins: list[str]) -> set[str]:
        """Those of `origins` some stored record already has."""
        found: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(origins), 500):  # bound the statement's parameters
                part = origins[start:start + 500]
                found.update(conn.execute(sa.select(message_log.c.origin)
                                          .where(message_log.c.origin.in_(part))).scalars())
        return found

    def log_anchors(self) -> dict[str, str]:
        """Chain → hash of its last pruned record."""
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.select(message_log_anchors.c.chain, message_log_anchors.c.hash)).all())

    def prune_log(self, before: float) -> int:
        """Delete the oldest records, all routed before `before`, with their subjects; each chain keeps an
        anchor (its last deleted record) so what remains still verifies. Returns how many went."""
        with self.engine.begin() as conn:
            boundary = conn.execute(sa.select(message_log.c.seq).where(message_log.c.routed_at >= before)
                                    .order_by(message_log.c.seq).limit(1)).scalar()  # scans only the old prefix
            old = message_log.c.seq < boundary if boundary is not None else sa.true()
            ends = conn.execute(sa.select(message_log.c.chain, sa.func.max(message_log.c.seq)).where(old)
                                .group_by(message_log.c.chain)).all()
            for chain, seq in ends:
                last_hash = conn.execute(sa.select(message_log.c.hash).where(message_log.c.seq == seq)).scalar()
                conn.execute(message_log_anchors.delete().where(message_log_anchors.c.chain == chain))
                conn.execute(message_log_anchors.insert().values(chain=chain, seq=seq, hash=last_hash))
            if not ends:
                return 0
            subjects_old = message_subjects.c.seq < boundary if boundary is not None else sa.true()
            conn.execute(message_subjects.delete().where(subjects_old))
            return conn.execute(message_log.delete().where(old)).rowcount

    def log_records(self, batch: int = 5000) -> Iterator[dict[str, Any]]:
        """Every record in order, read in batches."""
        last = 0
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(message_log).where(message_log.c.seq > last)
                                    .order_by(message_log.c.seq).limit(batch)).mappings().all()
            if not rows:
                return
            yield from (dict(row) for row in rows)
            last = rows[-1]["seq"]

    def find_log(self, limit: int = 100, subject: str | None = None, **equals: str) -> list[dict[str, Any]]:
        """The newest records with these column values and, given a subject hash, concerning that subject."""
        query = sa.select(message_log).order_by(message_log.c.seq.desc()).limit(limit)
        if subject is not None:
            query = query.join(message_subjects, message_subjects.c.seq == message_log.c.seq).where(
                message_subjects.c.subject == subject)
        for column, value in equals.items():
            query = query.where(message_log.c[column] == value)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]


def _advance(conn: sa.Connection, chain: str, was: int | None, now: int) -> None:
    positions = message_log_positions.c
    if was is None:
        try:  # the transaction is undone on the way out
            conn.execute(message_log_positions.insert().values(chain=chain, next_offset=now))
        except sa.exc.IntegrityError as exc:
            raise PositionMoved(chain) from exc
        return
    moved = conn.execute(message_log_positions.update().where(positions.chain == chain, positions.next_offset == was)
                         .values(next_offset=now)).rowcount
    if moved != 1:
        raise PositionMoved(chain)


def _last_seqs(conn: sa.Connection, chain: str, count: int) -> list[int]:
    """The seqs just given to a chain's `count` rows, in insertion order: one writer per chain, and
    within the transaction that inserted them they are its newest."""
    seqs = conn.execute(sa.select(message_log.c.seq).where(message_log.c.chain == chain)
                        .order_by(message_log.c.seq.desc()).limit(count)).scalars().all()
    return seqs[::-1]
