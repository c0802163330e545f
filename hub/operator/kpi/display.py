"""What the operator's pages show of the indicators, decided here so that no page recomputes a rule.

The dashboard and the HTML report draw these answers as they come: a `met` beside each target, the
shares already divided, the lists already in display order. The pure indicators keep their shapes (their
tests pin them); these functions return copies with keys added, and rename or drop nothing.
"""

from __future__ import annotations

from typing import Any

from hub.operator.kpi.connectivity import LEVELS
from hub.operator.kpi.targets import verdict

NEAR_TARGET = 0.85  # a share not met but at 85% of its target or more is shown as close, not far

def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def connectivity_shown(report: dict[str, Any]) -> dict[str, Any]:
    """Every level with its verdict, systems still to connect first, the owners' names beside them."""
    share, target = report.get("share"), report.get("target")
    met = verdict(share, target)
    present = {row["level"]: row for row in report.get("by_level", [])}
    by_level = [{**present.get(level, {"level": level, "connected": 0, "total": 0, "share": None}),
                 "met": verdict(present[level]["share"], target) if level in present else None}
                for level in (*LEVELS, *(level for level in present if level not in LEVELS))]
    names = {row["agency"]: row.get("name") for row in report.get("by_agency", [])}
    # the systems not yet connected first: they are what stands between the province and its target
    systems = sorted(({**system, "owner_name": names.get(system["owner"]) or system["owner"]}
                      for system in report.get("systems", [])), key=lambda system: system["connected"] is True)
    return {**report, "by_level": by_level, "systems": systems,
            "near_target": met is False and share >= NEAR_TARGET * target}


def dossiers_shown(report: dict[str, Any]) -> dict[str, Any]:
    """The on-time share beside the late one (late_by_agency comes already in display order)."""
    cumulative = report.get("cumulative") or {}
    on_time_share = _share(cumulative.get("on_time", 0), cumulative.get("completed", 0))
    return {**report, "cumulative": {**cumulative, "on_time_share": on_time_share}}


def documents_shown(report: dict[str, Any]) -> dict[str, Any]:
    """No verdict before any document; the on-time share of what each receiving agency processed, and of all
    (late_by_agency comes already in display order)."""
    cumulative = report.get("cumulative") or {}
    rows = [{**row, "on_time_share": _share(row["on_time"], row["processed"])}
            for row in report.get("late_by_agency", [])]
    share, target = cumulative.get("electronic_share"), cumulative.get("electronic_target")
    return {**report, "late_by_agency": rows, "cumulative": {
        **cumulative, "electronic_met": verdict(share, target),
        "on_time_share": _share(cumulative.get("on_time", 0), cumulative.get("processed", 0))}}
