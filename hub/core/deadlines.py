"""The national indicator's on-time rule for a dossier: one rule for the KPI, the traffic planner and the tests.

A dossier is late when processing ran past NgayHenTra once the time the citizen took to supplement papers is
taken out, or when supplements were requested more than once, whatever the dates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

# The messages of a dossier's life, whose fields the rule reads.
DOSSIER_TYPES = ("dossier.submitted", "dossier.status_changed", "dossier.completed")
DAY_SECONDS = 86400.0
MAX_SUPPLEMENT_REQUESTS = 1  # a second request for missing papers makes the dossier late


def overdue_seconds(ended: datetime, due: datetime, supplement_seconds: float) -> float:
    """How long processing ran past the due date, the citizen's supplement time taken out (≤ 0: in time)."""
    return (ended - due).total_seconds() - supplement_seconds


def late(overdue: float, supplement_requests: int) -> bool:
    """The rule itself; `overdue` in any unit, > 0 meaning past the due date."""
    return supplement_requests > MAX_SUPPLEMENT_REQUESTS or overdue > 0


def is_late(completed: dict[str, Any]) -> bool:
    """The rule over a `dossier.completed` payload's own fields (NgayHenTra, SoNgayBoSung, SoLanBoSung)."""
    overdue = overdue_seconds(datetime.fromisoformat(completed["NgayKetThucXuLy"]),
                              datetime.fromisoformat(completed["NgayHenTra"]),
                              completed.get("SoNgayBoSung", 0) * DAY_SECONDS)
    return late(overdue, completed.get("SoLanBoSung", 0))
