"""Schema versions registered at run time (the bundled ones are files)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from hub.store.changes import changed
from hub.store.database import now
from hub.store.tables import schema_versions


class SchemaRows:
    engine: sa.Engine

    def add_schema_version(self, type: str, version: int, schema: dict[str, Any]) -> None:
        """Raises sqlalchemy.exc.IntegrityError when another process took this version first."""
        with self.engine.begin() as conn:
            conn.execute(schema_versions.insert().values(type=type, version=version, schema=schema,
                                                         created_at=now()))
            changed(conn)

    def schema_versions(self) -> list[tuple[str, int, dict[str, Any]]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(schema_versions.c.type, schema_versions.c.version, schema_versions.c.schema)
                                .order_by(schema_versions.c.type, schema_versions.c.version))
            return [(row.type, row.version, row.schema) for row in rows]
