"""The national indicator's on-time rule for a dossier, from its `dossier.completed` fields."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any


def is_late(completed: dict[str, Any]) -> bool:
    """Late when processing ended after NgayHenTra once the citizen's supplement time is subtracted,
    or when supplements were requested more than once."""
    if completed.get("SoLanBoSung", 0) > 1:
        return True
    ended = datetime.fromisoformat(completed["NgayKetThucXuLy"])
    ended -= timedelta(days=completed.get("SoNgayBoSung", 0))
    return ended > datetime.fromisoformat(completed["NgayHenTra"])
