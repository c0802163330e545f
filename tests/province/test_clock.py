"""The simulated clock: accelerated real time, and the manual clock tests step by hand."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from hub.core.clock import VN_TZ
from province.clock import ManualClock, SimClock, make_clock

START = datetime(2023, 9, 11, 7, 0, tzinfo=VN_TZ)


# --- accelerated clock --------------------------------------------------------------------------


def test_start_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SimClock(datetime(2023, 9, 11, 7, 0), speed=10)
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2023, 9, 11, 7, 0))


@pytest.mark.parametrize("speed", [0, -1, float("inf"), float("nan")])
def test_speed_must_be_positive_and_finite(speed: float) -> None:
    with pytest.raises(ValueError, match="speed"):
        SimClock(START, speed=speed)


def test_now_is_in_vietnam_time_and_runs_speed_times_faster() -> None:
    clock = SimClock(START.astimezone(UTC), speed=3600)  # an hour per real second
    assert clock.now().utcoffset() == timedelta(hours=7)
    r0 = time.monotonic()
    s0 = clock.now()
    r1 = time.monotonic()
    time.sleep(0.02)
    r2 = time.monotonic()
    s1 = clock.now()
    r3 = time.monotonic()
    # Bracketed by the real time around each reading, so no tolerance is needed.
    assert (r2 - r1) * 3600 <= (s1 - s0).total_seconds() <= (r3 - r0) * 3600


async def test_sleep_takes_scaled_real_time() -> None:
    clock = SimClock(START, speed=1000)
    started = time.monotonic()
    await clock.sleep(100)  # 100 simulated seconds = 0.1 s
    assert 0.09 <= time.monotonic() - started < 0.5
    assert clock.now() >= START + timedelta(seconds=100)


async def test_sleep_until_never_wakes_early() -> None:
    clock = SimClock(START, speed=500)
    target = clock.now() + timedelta(seconds=20)
    await clock.sleep_until(target)
    assert clock.now() >= target


async def test_sleep_until_the_past_returns_at_once() -> None:
    clock = SimClock(START, speed=1)
    started = time.monotonic()
    await clock.sleep_until(START - timedelta(days=1))
    await clock.sleep(0)
    assert time.monotonic() - started < 0.05


async def test_sleep_until_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await SimClock(START, speed=1).sleep_until(datetime(2023, 9, 11, 8, 0))


async def test_set_speed_wakes_sleepers_to_replan() -> None:
    clock = SimClock(START, speed=1)
    sleeper = asyncio.create_task(clock.sleep(3600))  # an hour at speed 1
    await asyncio.sleep(0.02)
    started = time.monotonic()
    clock.set_speed(360_000)  # now 10 ms
    await asyncio.wait_for(sleeper, timeout=1)
    assert time.monotonic() - started < 0.5
    assert clock.now() >= START + timedelta(hours=1)


async def test_a_cancelled_sleeper_leaves_nothing_behind() -> None:
    clock = SimClock(START, speed=1)
    sleeper = asyncio.create_task(clock.sleep(60))
    await asyncio.sleep(0)
    sleeper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleeper
    assert not clock._waiters


# --- manual clock -------------------------------------------------------------------------------


def test_make_clock_chooses_by_speed() -> None:
    assert isinstance(make_clock(START, None), ManualClock)
    assert isinstance(make_clock(START, 60), SimClock)


async def test_manual_time_stands_still_until_advanced() -> None:
    clock = ManualClock(START)
    await asyncio.sleep(0.01)
    assert clock.now() == START
    await clock.advance(timedelta(minutes=30))
    assert clock.now() == START + timedelta(minutes=30)


async def test_advance_wakes_the_due_sleepers_in_deadline_order() -> None:
    clock = ManualClock(START)
    woke: list[tuple[str, datetime]] = []

    async def sleeper(name: str, minutes: int) -> None:
        await clock.sleep(minutes * 60)
        woke.append((name, clock.now()))

    tasks = [asyncio.create_task(sleeper(name, minutes)) for name, minutes in (("c", 30), ("a", 10), ("b", 20))]
    await asyncio.sleep(0)
    assert clock.pending() == 3 and clock.next_wakeup() == START + timedelta(minutes=10)

    await clock.advance(timedelta(minutes=25))
    assert woke == [("a", START + timedelta(minutes=10)), ("b", START + timedelta(minutes=20))]
    assert clock.pending() == 1

    await clock.advance(timedelta(minutes=5))
    assert [name for name, _ in woke] == ["a", "b", "c"]
    await asyncio.gather(*tasks)


async def test_a_ticking_loop_ticks_once_per_period_of_the_advance() -> None:
    clock = ManualClock(START)
    ticks: list[datetime] = []

    async def every_minute() -> None:
        while True:
            await clock.sleep(60)
            ticks.append(clock.now())

    task = asyncio.create_task(every_minute())
    await asyncio.sleep(0)
    await clock.advance(timedelta(hours=1))
    assert len(ticks) == 60
    assert ticks[0] == START + timedelta(minutes=1) and ticks[-1] == START + timedelta(hours=1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.next_wakeup() is None


async def test_sleeping_until_now_or_before_does_not_block() -> None:
    clock = ManualClock(START)
    await asyncio.wait_for(clock.sleep_until(START), timeout=0.1)
    await asyncio.wait_for(clock.sleep(-5), timeout=0.1)


async def test_time_does_not_go_backwards() -> None:
    clock = ManualClock(START)
    with pytest.raises(ValueError, match="backwards"):
        await clock.advance(timedelta(seconds=-1))
    await clock.advance_to(START - timedelta(hours=1))
    assert clock.now() == START
