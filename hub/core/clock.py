"""Time as the hub reads it: the zone dossier deadlines are set in, and the clock protocol.

Code that waits (deadlines, heartbeats, indicator samples) takes a clock instead of calling asyncio.sleep, so a
simulated province can run the hub on an accelerated clock of its own.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class Clock(Protocol):
    def now(self) -> datetime: ...

    async def sleep_until(self, when: datetime) -> None: ...

    async def sleep(self, seconds: float) -> None: ...


class WallClock:
    """Real time in Asia/Ho_Chi_Minh: a hub without a simulated province."""

    def now(self) -> datetime:
        return datetime.now(VN_TZ)

    async def sleep_until(self, when: datetime) -> None:
        await asyncio.sleep(max((when - self.now()).total_seconds(), 0.0))

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
