"""Durable state of the control plane: connectors and runtime schema versions.

SQLAlchemy Core keeps the SQL the same on SQLite (default, one file) and
PostgreSQL (several hub processes): the URL alone chooses.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

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


# The hub's half of each connector credential (hub.credentials): a public key, or an HMAC key.
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
    sa.Column("chain", sa.String(100), nullable=False),  # columns after seq: hub.audit.FIELDS, then the links
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Store:
    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, pool_pre_ping=True)
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
    def append_log(self, rows: list[tuple]) -> None:
        """Rows in column order (all but seq), through the driver's executemany: the log must keep up."""
        names = [column.name for column in message_log.columns if column.name != "seq"]
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        columns = ", ".join(f'"{name}"' for name in names)
        with self.engine.begin() as conn:
            conn.exec_driver_sql(f"INSERT INTO message_log ({columns}) VALUES ({', '.join([mark] * len(names))})",
                                 rows)

    def log_head(self, chain: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(message_log.c.hash).where(message_log.c.chain == chain)
                                .order_by(message_log.c.seq.desc()).limit(1)).scalar()

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

    def find_log(self, limit: int = 100, **equals: str) -> list[dict[str, Any]]:
        query = sa.select(message_log).order_by(message_log.c.seq.desc()).limit(limit)
        for column, value in equals.items():
            query = query.where(message_log.c[column] == value)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]
