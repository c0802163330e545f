"""Registered connectors, their paused state, and the hub's half of their credentials."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from hub.store.changes import changed
from hub.store.database import now
from hub.store.tables import connectors, credentials


class ConnectorRows:
    engine: sa.Engine

    def put_connector(self, connector_id: str, spec: dict[str, Any]) -> bool:
        """Insert or replace a connector; True when it was new."""
        with self.engine.begin() as conn:
            existing = conn.execute(sa.select(connectors.c.id).where(connectors.c.id == connector_id)).first()
            if existing:
                conn.execute(connectors.update().where(connectors.c.id == connector_id)
                             .values(spec=spec, updated_at=now()))
            else:
                conn.execute(connectors.insert().values(id=connector_id, spec=spec, paused=False,
                                                        created_at=now(), updated_at=now()))
            changed(conn)
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
                                .values(paused=paused, updated_at=now())).rowcount > 0

    def delete_connector(self, connector_id: str) -> bool:
        """Unregister a connector; its credentials go with it."""
        with self.engine.begin() as conn:
            conn.execute(credentials.delete().where(credentials.c.connector_id == connector_id))
            changed(conn)
            return conn.execute(connectors.delete().where(connectors.c.id == connector_id)).rowcount > 0


class CredentialRows:
    engine: sa.Engine

    def add_credential(self, row: dict[str, Any], retire_others_at: datetime | None) -> None:
        """Store a new credential; the connector's others stop at `retire_others_at` (a rotation's grace)."""
        with self.engine.begin() as conn:
            mine = credentials.c.connector_id == row["connector_id"]
            conn.execute(credentials.delete().where(mine, credentials.c.expires_at <= now()))  # long dead
            if retire_others_at is not None:
                active = (credentials.c.expires_at.is_(None)) | (credentials.c.expires_at > retire_others_at)
                conn.execute(credentials.update().where(mine, active).values(expires_at=retire_others_at))
            conn.execute(credentials.insert().values(**row, created_at=now()))
            changed(conn)

    def credentials(self, connector_id: str | None = None) -> list[dict[str, Any]]:
        """Credentials not yet expired (all of them, or one connector's), oldest first."""
        query = (sa.select(credentials).where(credentials.c.expires_at.is_(None) | (credentials.c.expires_at > now()))
                 .order_by(credentials.c.created_at))
        if connector_id is not None:
            query = query.where(credentials.c.connector_id == connector_id)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def expired_credential_ids(self, connector_id: str | None = None) -> list[str]:
        """Credentials past their rotation's grace (all, or one connector's), stored until its next rotation."""
        query = sa.select(credentials.c.id).where(credentials.c.expires_at <= now())
        if connector_id is not None:
            query = query.where(credentials.c.connector_id == connector_id)
        with self.engine.connect() as conn:
            return list(conn.scalars(query))

    def credential_ids(self, connector_id: str, credential_id: str | None = None) -> list[str]:
        """The ids of a connector's stored credentials, expired ones too (or of the one given)."""
        query = sa.select(credentials.c.id).where(credentials.c.connector_id == connector_id)
        if credential_id is not None:
            query = query.where(credentials.c.id == credential_id)
        with self.engine.connect() as conn:
            return list(conn.scalars(query))

    def revoke_credentials(self, connector_id: str, credential_id: str | None = None) -> int:
        """Delete one credential of a connector, or all of them; how many went."""
        condition = credentials.c.connector_id == connector_id
        if credential_id is not None:
            condition &= credentials.c.id == credential_id
        with self.engine.begin() as conn:
            changed(conn)
            return conn.execute(credentials.delete().where(condition)).rowcount
