"""Waiting for what the system does in its own time: poll a condition, fail naming what never came."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def eventually(condition: Callable[[], object], timeout: float = 30.0, what: str = "condition",
                     interval: float = 0.1) -> None:
    """Poll `condition()` every `interval` seconds until it holds; fail after `timeout` naming `what`."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(interval)


async def until(condition: Callable[[], object], what: Callable[[], str], timeout: float = 120.0) -> None:
    """Wait until condition() holds (a blocking call, run in a thread); on timeout fail with what() (the state
    worth seeing)."""
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(condition):
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what()}"
        await asyncio.sleep(0.5)
