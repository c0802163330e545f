"""Small values the hub creates once and keeps for good (the pepper of the message log's subject hashes)."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from hub.store.tables import hub_values


class HubValues:
    engine: sa.Engine

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
