"""What every bench run records around its measurements: the machine, the load, the wall time; and the
result file it writes."""

from __future__ import annotations

import json
import os
import platform
import signal
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    return {"cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)), "cpu": cpu,
            "ram_gb": round(mem_kb / 1024 / 1024, 1), "python": platform.python_version(),
            "platform": platform.platform(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def stop_on_sigterm() -> None:
    """SIGTERM as Ctrl-C: the `finally` blocks run and stop the brokers and child processes."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def ended(started: datetime) -> dict[str, Any]:
    """How long the run took and how loaded the machine was at its end (others share it)."""
    return {"wall_seconds": round((datetime.now(timezone.utc) - started).total_seconds()),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()]}


def write_results(path: Path, results: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
