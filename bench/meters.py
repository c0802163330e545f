"""Rates and CPU time of a measurement."""

from __future__ import annotations

import os
import time
from pathlib import Path


def rate(count: int, seconds: float) -> dict[str, float]:
    return {"msg_per_s": round(count / seconds), "us_per_msg": round(seconds / count * 1e6, 2),
            "seconds": round(seconds, 3)}


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system, all threads) of this process, or of another one by pid (Linux /proc)."""
    if pid is None:
        return time.process_time()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuWindow:
    """CPU seconds the broker and this process spent between start() and stop(), per message."""

    def __init__(self, broker_pid: int | None) -> None:
        self._pid, self._start = broker_pid, None

    def start(self) -> None:
        self._start = (cpu_seconds(self._pid), cpu_seconds())

    def stop(self, count: int) -> dict[str, float]:
        broker, own = cpu_seconds(self._pid) - self._start[0], cpu_seconds() - self._start[1]
        return {"broker_s": round(broker, 2), "bench_process_s": round(own, 2),
                "broker_us_per_msg": round(broker / count * 1e6, 1),
                "bench_process_us_per_msg": round(own / count * 1e6, 1)}
