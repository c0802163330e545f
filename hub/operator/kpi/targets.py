"""When a share meets its target: one rule for every indicator, and every page that shows one."""

from __future__ import annotations

TOLERANCE = 1e-9  # 3/10 compared with 0.30 must count as met


def reached(share: float | None, target: float) -> bool:
    return share is not None and share >= target - TOLERANCE


def verdict(share: float | None, target: float | None) -> bool | None:
    """Met, not met, or None when there is nothing to judge (no share yet, or no target)."""
    return None if share is None or target is None else reached(share, target)
