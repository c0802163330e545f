"""Simulated time: a clock that runs faster than real time, and a manual one for tests.

Both keep time in Asia/Ho_Chi_Minh and follow the hub's `Clock` protocol, so the hub samples its
indicators on the province's time, days of traffic run in minutes, and tests step time by hand.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from datetime import datetime, timedelta

from hub.core.clock import VN_TZ


def _aware(when: datetime, what: str) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (Asia/Ho_Chi_Minh), got naive {when.isoformat()}")
    return when.astimezone(VN_TZ)


class SimClock:
    """Simulated time = start + real time elapsed × speed (speed 60: a simulated hour per real minute)."""

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        self._sim0 = _aware(start, "start")
        self._real0 = time.monotonic()
        self.speed = self._check(speed)
        self._waiters: set[asyncio.Future[None]] = set()

    @staticmethod
    def _check(speed: float) -> float:
        if not speed > 0 or speed == float("inf"):
            raise ValueError(f"speed must be a positive finite number, got {speed}")
        return float(speed)

    def now(self) -> datetime:
        return self._sim0 + timedelta(seconds=(time.monotonic() - self._real0) * self.speed)

    def set_speed(self, speed: float) -> None:
        """Change the acceleration from now on; sleepers re-plan their real wait."""
        speed = self._check(speed)
        self._sim0, self._real0, self.speed = self.now(), time.monotonic(), speed
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def sleep_until(self, when: datetime) -> None:
        when = _aware(when, "when")
        loop = asyncio.get_running_loop()
        # Loop: the event loop may wake a hair early, and set_speed wakes everyone to re-plan.
        while (remaining := (when - self.now()).total_seconds()) > 0:
            waiter = loop.create_future()
            handle = loop.call_later(remaining / self.speed, _wake, waiter)
            self._waiters.add(waiter)
            try:
                await waiter
            finally:
                handle.cancel()
                self._waiters.discard(waiter)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        await self.sleep_until(self.now() + timedelta(seconds=seconds))


class ManualClock:
    """Time moves only when a test calls `advance`; sleepers wake in deadline order."""

    speed = None

    def __init__(self, start: datetime) -> None:
        self._now = _aware(start, "start")
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()  # ties wake in the order they went to sleep

    def now(self) -> datetime:
        return self._now

    def pending(self) -> int:
        return sum(not fut.done() for _, _, fut in self._sleepers)

    def next_wakeup(self) -> datetime | None:
        self._drop_cancelled()
        return self._sleepers[0][0] if self._sleepers else None

    async def sleep_until(self, when: datetime) -> None:
        when = _aware(when, "when")
        if when <= self._now:
            await asyncio.sleep(0)
            return
        waiter = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (when, next(self._order), waiter))
        await waiter

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self._now + timedelta(seconds=max(seconds, 0)))

    async def advance(self, delta: timedelta, settle: int = 20) -> None:
        """Move time forward by `delta`, stopping at each deadline on the way.

        At every stop the woken tasks get `settle` turns of the event loop, so a task that sleeps
        again within the window (a loop ticking every minute) wakes again, as it would in real time.
        """
        if delta < timedelta(0):
            raise ValueError("time does not go backwards")
        await self.advance_to(self._now + delta, settle)

    async def advance_to(self, target: datetime, settle: int = 20) -> None:
        target = _aware(target, "target")
        while (wake := self.next_wakeup()) is not None and wake <= target:
            self._now = max(self._now, wake)
            while self._sleepers and self._sleepers[0][0] <= self._now:
                _wake(heapq.heappop(self._sleepers)[2])
            await _settle(settle)
        self._now = max(self._now, target)
        await _settle(settle)

    def _drop_cancelled(self) -> None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


async def _settle(turns: int) -> None:
    for _ in range(turns):
        await asyncio.sleep(0)


def make_clock(start: datetime, speed: float | None) -> SimClock | ManualClock:
    """speed=None gives the manual clock (tests); otherwise an accelerated real-time clock."""
    return ManualClock(start) if speed is None else SimClock(start, speed)
