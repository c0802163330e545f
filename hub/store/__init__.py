"""Durable state of the control plane: connectors and runtime schema versions.

SQLAlchemy Core keeps the SQL the same on SQLite (default, one file) and
PostgreSQL (several hub processes): the URL alone chooses.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_fixed

metadata = sa.MetaData()

connectors = sa.Table(
    "connectors", metadata,
    sa.Column("id", sa.String(63), primary_key=True),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("paused", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

schema_versions = sa.Table(
    "schema_versions", metadata,
    sa.Column("type", sa.String(100), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("schema", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


# The hub's half of each connector credential (hub.core.credentials): a public key, or an HMAC key.
credentials = sa.Table(
    "credentials", metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("connector_id", sa.String(63), nullable=False, index=True),
    sa.Column("algorithm", sa.String(16), nullable=False),
    sa.Column("verify_key", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True)),  # set when a newer credential replaces it
)


connectivity_history = sa.Table(
    "connectivity_history", metadata,
    sa.Column("at", sa.DateTime(timezone=True), primary_key=True),  # simulated time of the sample
    sa.Column("share", sa.Float, nullable=False),
    sa.Column("connected", sa.Integer, nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
)


message_log = sa.Table(
    "message_log", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.String(36), index=True),
    sa.Column("type", sa.String(100)),
    sa.Column("version", sa.Integer),
    sa.Column("source", sa.String(63)),
    sa.Column("targets", sa.JSON, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("stage", sa.String(16)),
    sa.Column("reason", sa.Text),
    sa.Column("correlation_id", sa.String(36), index=True),
    sa.Column("key", sa.String(256), index=True),
    sa.Column("payload_sha256", sa.String(64), nullable=False),
    sa.Column("routed_at", sa.Float, nullable=False),
    sa.Column("chain", sa.String(100), nullable=False),  # columns after seq: hub.audit.message_log.FIELDS, the payload, the links
    sa.Column("payload", sa.Text),  # the message text, for types logged in `full` mode (hashed when present)
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# Whom a record concerned: keyed hashes of the personal IDs in its message (hub.audit.content), never the IDs.
message_subjects = sa.Table(
    "message_subjects", metadata,
    sa.Column("subject", sa.String(64), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, index=True),  # message_log.seq
)

# Where each chain now starts after a prune: its last pruned record, which the first one kept links to.
message_log_anchors = sa.Table(
    "message_log_anchors", metadata,
    sa.Column("chain", sa.String(100), primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# Small values the hub creates once and keeps (the pepper of the subject hashes).
hub_values = sa.Table(
    "hub_values", metadata,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


# The province's inventory as the operator last loaded it: one document.
inventory = sa.Table(
    "inventory", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
)


@sa.event.listens_for(metadata, "after_create")
def _add_payload_column(target: sa.MetaData, connection: sa.Connection, **kw: Any) -> None:
    """A message log created before payload modes gets its payload column (create_all adds tables only)."""
    if "payload" not in {column["name"] for column in sa.inspect(connection).get_columns("message_log")}:
        connection.exec_driver_sql("ALTER TABLE message_log ADD COLUMN payload TEXT")


def _now() -> datetime:
    return datetime.now(timezone.utc)


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


class Store:
    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_for_several_processes)
            _use_wal(self.engine)
        with self.engine.begin() as conn:  # processes starting together: one at a time creates what is missing
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(5420231)"))
            elif conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            metadata.create_all(conn)

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.SQLAlchemyError:
            return False

    def close(self) -> None:
        self.engine.dispose()

    # connectors -------------------------------------------------------------
    def put_connector(self, connector_id: str, spec: dict[str, Any]) -> bool:
        """Insert or replace a connector; True when it was new."""
        with self.engine.begin() as conn:
            existing = conn.execute(sa.select(connectors.c.id).where(connectors.c.id == connector_id)).first()
            if existing:
                conn.execute(connectors.update().where(connectors.c.id == connector_id)
                             .values(spec=spec, updated_at=_now()))
            else:
                conn.execute(connectors.insert().values(id=connector_id, spec=spec, paused=False,
                                                        created_at=_now(), updated_at=_now()))
        return existing is None

    def connectors(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(connectors.c.spec).order_by(connectors.c.id))
            return [row.spec for row in rows]

    def connector(self, connector_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(connectors.c.spec).where(connectors.c.id == connector_id)).scalar()

    def paused_connectors(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(connectors.c.id).where(connectors.c.paused)).scalars())

    def set_paused(self, connector_id: str, paused: bool) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(connectors.update().where(connectors.c.id == connector_id)
                                .values(paused=paused, updated_at=_now())).rowcount > 0

    def delete_connector(self, connector_id: str) -> bool:
        """Unregister a connector; its credentials go with it."""
        with self.engine.begin() as conn:
            conn.execute(credentials.delete().where(credentials.c.connector_id == connector_id))
            return conn.execute(connectors.delete().where(connectors.c.id == connector_id)).rowcount > 0

    # credentials ------------------------------------------------------------
    def add_credential(self, row: dict[str, Any], retire_others_at: datetime | None) -> None:
        """Store a new credential; the connector's others stop at `retire_others_at` (a rotation's grace)."""
        with self.engine.begin() as conn:
            mine = credentials.c.connector_id == row["connector_id"]
            conn.execute(credentials.delete().where(mine, credentials.c.expires_at <= _now()))  # long dead
            if retire_others_at is not None:
                active = (credentials.c.expires_at.is_(None)) | (credentials.c.expires_at > retire_others_at)
                conn.execute(credentials.update().where(mine, active).values(expires_at=retire_others_at))
            conn.execute(credentials.insert().values(**row, created_at=_now()))

    def credentials(self, connector_id: str | None = None) -> list[dict[str, Any]]:
        """Credentials not yet expired (all of them, or one connector's), oldest first."""
        query = (sa.select(credentials).where(credentials.c.expires_at.is_(None) | (credentials.c.expires_at > _now()))
                 .order_by(credentials.c.created_at))
        if connector_id is not None:
            query = query.where(credentials.c.connector_id == connector_id)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def revoke_credentials(self, connector_id: str, credential_id: str | None = None) -> int:
        """Delete one credential of a connector, or all of them; how many went."""
        condition = credentials.c.connector_id == connector_id
        if credential_id is not None:
            condition &= credentials.c.id == credential_id
        with self.engine.begin() as conn:
            return conn.execute(credentials.delete().where(condition)).rowcount

    # schema versions registered at run time ---------------------------------
    def add_schema_version(self, type: str, version: int, schema: dict[str, Any]) -> None:
        """Raises sqlalchemy.exc.IntegrityError when another process took this version first."""
        with self.engine.begin() as conn:
            conn.execute(schema_versions.insert().values(type=type, version=version, schema=schema,
                                                         created_at=_now()))

    def schema_versions(self) -> list[tuple[str, int, dict[str, Any]]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(schema_versions.c.type, schema_versions.c.version, schema_versions.c.schema)
                                .order_by(schema_versions.c.type, schema_versions.c.version))
            return [(row.type, row.version, row.schema) for row in rows]

    # connectivity indicator over (simulated) time -------------------------
    def add_connectivity_sample(self, at: datetime, share: float, connected: int, total: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(connectivity_history.delete().where(connectivity_history.c.at == at))
            conn.execute(connectivity_history.insert().values(at=at, share=share, connected=connected, total=total))

    def connectivity_samples(self, limit: int = 1000) -> list[dict[str, Any]]:
        """The latest `limit` samples, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(connectivity_history).order_by(connectivity_history.c.at.desc())
                                .limit(limit)).mappings().all()
        return [dict(row) for row in reversed(rows)]

    # the hash-chained message log --------------------------------------
    def append_log(self, rows: list[tuple], subjects: list[tuple[int, str]] = ()) -> None:
        """Rows of one chain in column order (all but seq), through the driver's executemany: the log must
        keep up. `subjects` pairs a row's index in `rows` with a subject hash, stored in the same transaction."""
        names = [column.name for column in message_log.columns if column.name != "seq"]
        with self.engine.begin() as conn:
            self._insert_many(conn, "message_log", names, rows)
            if subjects:
                seqs = self._last_seqs(conn, rows[0][names.index("chain")], len(rows))
                self._insert_many(conn, "message_subjects", ["subject", "seq"],
                                  [(subject, seqs[index]) for index, subject in subjects])

    def _insert_many(self, conn: sa.Connection, table: str, names: list[str], rows: list[tuple]) -> None:
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        columns = ", ".join(f'"{name}"' for name in names)
        conn.exec_driver_sql(f"INSERT INTO {table} ({columns}) VALUES ({', '.join([mark] * len(names))})", rows)

    @staticmethod
    def _last_seqs(conn: sa.Connection, chain: str, count: int) -> list[int]:
        """The seqs just given to a chain's `count` rows, in insertion order: one writer per chain, and
        within the transaction that inserted them they are its newest."""
        seqs = conn.execute(sa.select(message_log.c.seq).where(message_log.c.chain == chain)
                            .order_by(message_log.c.seq.desc()).limit(count)).scalars().all()
        return seqs[::-1]

    def log_head(self, chain: str) -> str | None:
        """The hash a chain's next record links to: its newest record's, or its anchor's once all were pruned."""
        with self.engine.connect() as conn:
            newest = conn.execute(sa.select(message_log.c.hash).where(message_log.c.chain == chain)
                                  .order_by(message_log.c.seq.desc()).limit(1)).scalar()
            return newest or conn.execute(sa.select(message_log_anchors.c.hash)
                                          .where(message_log_anchors.c.chain == chain)).scalar()

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

    # the inventory ------------------------------------------------------------
    def put_inventory(self, document: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(inventory.delete())
            conn.execute(inventory.insert().values(id=1, document=document, loaded_at=_now()))

    def inventory(self) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(inventory.c.document)).scalar()

    def hub_value(self, name: str, make: Callable[[], str]) -> str:
        """A value the hub keeps for good, created with `make()` by whichever process asks first."""
        query = sa.select(hub_values.c.value).where(hub_values.c.name == name)
        with self.engine.connect() as conn:
            found = conn.execute(query).scalar()
        if found is not None:
            return found
        try:
            with self.engine.begin() as conn:
                conn.execute(hub_values.insert().values(name=name, value=make()))
        except sa.exc.IntegrityError:  # another process created it first: theirs holds
            pass
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def log_records(self, batch: int = 5000):
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
