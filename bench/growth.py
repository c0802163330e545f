"""Memory growth of a running province: what `lgsp-hub up` holds more of the longer it runs.

Run with `.venv/bin/python bench/growth.py [--speed 7200] [--volume 0.05] [--minutes 5.5] [--every 75]
[--broker tansu] [--top 25]`.

The hub (its own broker, router, log indexer, observer) and the simulated province run in this process, as
`lgsp-hub up` assembles them (without the HTTP server). After a warm-up of one interval (clients joined,
caches filled) tracemalloc starts and takes a first snapshot, then one every `--every` real seconds until
`--minutes` have passed: what it sees is what was allocated since and is still held. Each snapshot is
compared with the first, the growth summed per allocation site (the project's two innermost frames), so
a structure that grows with traffic shows as a size and count rising snapshot after snapshot; a bounded
process levels off once its windows are full and its open dossiers balance those completed. Tracing
slows the process several times over: keep the load light, or what grows is the backlog in its queues.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import linecache
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

# bench/province.py would shadow the `province` package: this directory is not where the project is imported from.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

FRAMES = 8
PROJECT = ("/hub/", "/province/")


def _site(trace: tracemalloc.Traceback) -> tuple[tracemalloc.Frame, ...]:
    """Where the project allocated it: its two innermost own frames (else the innermost frame at all)."""
    own = [f for f in trace if any(part in f.filename for part in PROJECT)] or list(trace)[-1:]
    return tuple(own[-2:])


def _describe(site: tuple[tracemalloc.Frame, ...]) -> str:
    return "\n".join(f"      {Path(f.filename).name}:{f.lineno}  {linecache.getline(f.filename, f.lineno).strip()}"
                     for f in reversed(site))


def snapshot() -> tracemalloc.Snapshot:
    gc.collect()  # cyclic garbage waits for a full collection, which a large heap makes rare: not held
    return tracemalloc.take_snapshot()


def report(first: tracemalloc.Snapshot, now: tracemalloc.Snapshot, elapsed: float, top: int) -> None:
    """Growth since the first snapshot, summed per allocation site, biggest first."""
    keep = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, linecache.__file__)]
    first, now = first.filter_traces(keep), now.filter_traces(keep)
    sites: dict[tuple[tracemalloc.Frame, ...], list[int]] = {}
    for stat in now.compare_to(first, "traceback"):
        grown = sites.setdefault(_site(stat.traceback), [0, 0])
        grown[0] += stat.size_diff
        grown[1] += stat.count_diff
    total = sum(size for size, _ in sites.values())
    print(f"\n+{elapsed:.0f} s since the first snapshot: traced memory {total / 1024:+,.0f} KiB")
    for site, (size, count) in sorted(sites.items(), key=lambda item: -item[1][0])[:top]:
        print(f"  {size / 1024:+9,.0f} KiB  {count:+8,d} blocks\n{_describe(site)}")


async def run(args: argparse.Namespace) -> None:
    from hub.control.runtime import Hub
    from hub.settings import Settings
    from province.runner import Simulation
    from province.scenario import load_scenario

    plan = load_scenario("binh-dinh-2023")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(broker=args.broker, database_url=f"sqlite:///{Path(tmp) / 'hub.db'}",
                            kafka_data_dir=str(Path(tmp) / "kafka"))
        simulation = Simulation(plan, seed=2023, speed=args.speed, volume=args.volume)
        hub = Hub(settings, inventory=plan, clock=simulation.clock, guests=[simulation])
        began = time.monotonic()
        await hub.start()
        print(f"hub and province up in {time.monotonic() - began:.0f} s, warming up for {args.every:g} s")
        try:
            await asyncio.sleep(args.every)  # warm-up: groups joined, catalogs loaded, compiled schemas cached
            tracemalloc.start(FRAMES)  # only now: tracing slows start-up past the clients' timeouts
            first, started = snapshot(), time.monotonic()
            print(f"first snapshot at simulated {simulation.clock.now():%Y-%m-%d %H:%M}")
            deadline = started + args.minutes * 60 - args.every
            while time.monotonic() < deadline:
                await asyncio.sleep(args.every)
                report(first, snapshot(), time.monotonic() - started, args.top)
                stats = simulation.dossier_system.stats
                print(f"  simulated {simulation.clock.now():%Y-%m-%d %H:%M}, dossiers planned {stats.planned:,}, "
                      f"completed {stats.completed:,}, open {stats.planned - stats.completed:,}")
        finally:
            await hub.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=7200, help="simulated seconds per real second")
    parser.add_argument("--volume", type=float, default=0.05, help="share of the scenario's dossiers per day")
    parser.add_argument("--minutes", type=float, default=5.5, help="real minutes in all, warm-up included")
    parser.add_argument("--every", type=float, default=75, help="real seconds between snapshots")
    parser.add_argument("--broker", choices=("tansu", "kafka"), default="tansu")
    parser.add_argument("--top", type=int, default=25, help="growers printed per snapshot")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
