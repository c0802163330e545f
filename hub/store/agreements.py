"""Data-sharing agreements: the current version of each, and the history of every change (who, when, what)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from hub.store.changes import changed
from hub.store.tables import agreement_changes, agreements


class AgreementRows:
    engine: sa.Engine

    def put_agreement(self, document: dict[str, Any], change: str, by: str, at: datetime,
                      expected_version: int | None) -> bool:
        """Write an agreement's new version with its history row; False when the stored version is not
        `expected_version` (None: it must not exist yet), so two writers never both win."""
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(agreements.c.document).where(agreements.c.id == document["id"])
                               .with_for_update()).scalar()
            if (row["version"] if row else None) != expected_version:
                return False
            if row is None:
                conn.execute(agreements.insert().values(id=document["id"], consumer=document["consumer"],
                                                        document=document))
            else:
                conn.execute(agreements.update().where(agreements.c.id == document["id"])
                             .values(consumer=document["consumer"], document=document))
            conn.execute(agreement_changes.insert().values(
                agreement_id=document["id"], version=document["version"], change=change, changed_by=by,
                changed_at=at, document=document))
            changed(conn)
        return True

    def agreement(self, agreement_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(agreements.c.document).where(agreements.c.id == agreement_id)).scalar()

    def agreements(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(agreements.c.document).order_by(agreements.c.id)).scalars())

    def agreement_history(self, agreement_id: str) -> list[dict[str, Any]]:
        query = sa.select(agreement_changes).where(agreement_changes.c.agreement_id == agreement_id) \
            .order_by(agreement_changes.c.version)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def agreement_version(self, agreement_id: str, version: int) -> dict[str, Any] | None:
        """An agreement as one change left it."""
        query = sa.select(agreement_changes.c.document).where(agreement_changes.c.agreement_id == agreement_id,
                                                              agreement_changes.c.version == version)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()
