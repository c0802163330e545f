"""The province's inventory the operator loaded: one document, replaced whole."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from hub.store.database import now
from hub.store.tables import inventory


class InventoryRows:
    engine: sa.Engine

    def put_inventory(self, document: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(inventory.delete())
            conn.execute(inventory.insert().values(id=1, document=document, loaded_at=now()))

    def inventory(self) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(inventory.c.document)).scalar()
