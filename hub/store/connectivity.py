"""The connectivity indicator over (simulated) time: one sample per instant."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from hub.store.tables import connectivity_history


class ConnectivityRows:
    engine: sa.Engine

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
