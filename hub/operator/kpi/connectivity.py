"""Connectivity indicator: systems serving citizens and businesses connected through the LGSP.

Pure logic, no I/O. The plan's target (60% in Bình Định) counts the province's information systems that
serve citizens and businesses; the denominator is every such system of the inventory, not
only those with a connector. A system counts as connected when at least one connector bound to it (a
registered connector listing it in `systems`) was seen — a heartbeat or a valid message — within the
window. The caller chooses which connectors to bind: a PAUSED connector is still registered and counts
if it exchanged something within the window. The inventory's static `connected` flag plays no part here:
this is the live measure.

`projection` fits a least-squares line through the indicator's history and says when, at this trend,
the target is reached.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from hub.core.inventory import Inventory
from hub.operator.kpi.targets import reached

DEFAULT_TARGET = 0.60
LEVELS = ("province", "district", "commune")
DAY_SECONDS = 86400.0


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _tally(rows: Iterable[tuple[str, bool]]) -> dict[str, list[int]]:
    """key → [connected, total], in first-seen order."""
    counts: dict[str, list[int]] = {}
    for key, connected in rows:
        count = counts.setdefault(key, [0, 0])
        count[0] += connected
        count[1] += 1
    return counts


def connectivity(inventory: Inventory | None, bindings: dict[str, list[str]], last_seen: dict[str, float], now: float,
                 window_seconds: float) -> dict[str, Any]:
    """The share of systems serving citizens/businesses with a connector seen in the last `window_seconds`.

    bindings: system id → connector ids bound to it; last_seen: connector id → unix time of its last
    heartbeat or valid message; now: unix time. Systems of other ids in `bindings` are ignored.
    """
    targets = inventory.province.targets if inventory else None  # None: no inventory loaded yet
    target = getattr(targets, "connected_systems", None)
    target = DEFAULT_TARGET if target is None else target
    listed = inventory.agencies if inventory else []
    names = {agency.code: agency.name for agency in listed}
    systems = []
    for system in inventory.systems_serving_citizens_businesses() if inventory else []:
        connectors = sorted(set(bindings.get(system.id, ())))
        latest = max((last_seen[c] for c in connectors if c in last_seen), default=None)
        systems.append({
            "id": system.id, "name": system.name, "owner": system.owner, "level": system.level,
            "connected": latest is not None and now - latest <= window_seconds,
            "connectors": connectors, "last_seen": latest,
        })
    connected, total = sum(s["connected"] for s in systems), len(systems)
    share = _share(connected, total)
    levels = _tally((s["level"], s["connected"]) for s in systems)
    agencies = _tally((s["owner"], s["connected"]) for s in systems)
    agency_order = {agency.code: i for i, agency in enumerate(listed)}
    return {
        "share": share, "target": target, "met": reached(share, target),
        "connected": connected, "total": total, "window_seconds": window_seconds,
        "by_level": [{"level": level, "connected": levels[level][0], "total": levels[level][1],
                      "share": _share(*levels[level])} for level in LEVELS if level in levels],
        "by_agency": [{"agency": code, "name": names.get(code), "connected": c, "total": t, "share": _share(c, t)}
                      for code, (c, t) in sorted(agencies.items(), key=lambda kv: agency_order.get(kv[0], 0))],
        "systems": systems,
    }


def projection(history: list[tuple[datetime, float]], target: float) -> dict[str, Any]:
    """When the least-squares line through `history` (time, share) reaches `target`.

    status: "met" when the latest point is at or above the target; "too_little_history" without two
    points spanning some time; "not_at_this_trend" when the slope is ≤ 0 (or the date is beyond the
    calendar); else "reached_at", the instant the line crosses the target — not before the latest point.
    slope_per_day is given whenever a line can be fitted.
    """
    points = sorted(history, key=lambda point: point[0])
    slope = intercept = None
    last_x = 0.0
    if len(points) >= 2 and points[-1][0] > points[0][0]:
        start = points[0][0]
        xs = [(at - start).total_seconds() / DAY_SECONDS for at, _ in points]
        ys = [share for _, share in points]
        mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
        sxx = sum((x - mean_x) ** 2 for x in xs)
        slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
        intercept = mean_y - slope * mean_x
        last_x = xs[-1]

    def answer(status: str, reached_at: datetime | None = None) -> dict[str, Any]:
        return {"status": status, "reached_at": reached_at.isoformat() if reached_at else None,
                "slope_per_day": slope}

    if points and reached(points[-1][1], target):
        return answer("met")
    if slope is None or intercept is None:
        return answer("too_little_history")
    if slope <= 0:
        return answer("not_at_this_trend")
    days = max((target - intercept) / slope, last_x)
    try:
        return answer("reached_at", points[0][0] + timedelta(seconds=round(days * DAY_SECONDS)))
    except OverflowError:  # so slow that the date is past the calendar's end
        return answer("not_at_this_trend")
