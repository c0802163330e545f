"""The catalog's version: a counter every change to what routing reads (connectors, their credentials,
schema versions) bumps in the change's own transaction.

A router in another process than the API reads it before each batch and reloads its catalog when it moved:
a message sent after a revocation is decided without the revoked credential, wherever it is routed.
"""

from __future__ import annotations

import sqlalchemy as sa

from hub.store.tables import catalog_changes


def changed(conn: sa.Connection) -> None:
    """Bump the version inside the caller's transaction."""
    conn.execute(catalog_changes.update().where(catalog_changes.c.id == 1)
                 .values(version=catalog_changes.c.version + 1))


class CatalogChanges:
    engine: sa.Engine

    def catalog_version(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(catalog_changes.c.version).where(catalog_changes.c.id == 1)).scalar_one()
