"""Province throughput: how many dossiers per simulated day the whole province sustains, at what clock speed.

Run with `.venv/bin/python bench/province.py [--speeds 3600,86400] [--volumes 0.5,1] [--days N]
[--partitions P] [--budget 240] [--profile PATH]`.

One run = the hub (embedded tansu broker, router) and the three bundled connectors (dossier system,
population database, NDXP) in this process, as `lgsp-hub up` runs them, playing the Bình Định 2023 scenario
without its outages at `speed` with `volume` × 1,800 dossiers per working day. The sim clock is held at
06:00 of the first day (Monday) while the hub and the connectors join their consumer groups (~10 s on
tansu), then released. Only the submission window is measured: at midnight after `days` simulated days
the traffic stops (dossiers open for weeks are dropped), and the events published so far get 10 s to
reach NDXP.

Every 0.5 s the bench samples the events in flight (published by the dossier system, not yet handled by
NDXP) and the event-loop lag. NDXP's handlers are wrapped to time each dossier event: latency from its
publish (UUIDv7 id, ms) and lag behind its simulated schedule (occurred_at, in real seconds). A run keeps up
when
  - max in flight < max(2,000, 5 % of the events published), and no verification timed out (30 real s);
  - backlog: dossiers received ≥ 1 real second before the stop but never submitted < 5 % of the dossiers
    (requests waiting on a saturated event loop do not show as events in flight);
  - after the drain every published event reached NDXP.

Without --volumes each speed is swept from volume 2^round(log2(3600/speed)) capped at 1 (1 at 3600×,
1/32 at 86400×): double while it keeps up, else halve until it does. Then, while the --budget lasts,
each bracket [keeps up, falls behind] is split once at its geometric middle. Results go to
bench/results/province.json; --profile writes a pyinstrument profile of the last run's window to PATH.

Columns: doss/wday = 1,800 × volume; ev/s and router/s = dossier events and messages routed per real second of
the window; maxfly = max events in flight; behind99 = p99 of how late events reached NDXP against their
simulated schedule (real ms), sim min = the same in simulated minutes; ndxp ms = median NDXP handler time;
lag ms = max event-loop lag; py cpu / broker = CPU of this process / of tansu (100 % = one core);
vto = verification timeouts; miss = events that had not reached NDXP after the drain.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hub.control.registration import LocalRegistrar
from hub.control.runtime import Hub
from hub.core.clock import VN_TZ
from hub.core.deadlines import DOSSIER_TYPES
from hub.sdk import Message
from hub.settings import Settings
from province.runner import Simulation
from province.scenario import load_scenario

RESULTS = Path(__file__).resolve().parent / "results"
SCENARIO = "binh-dinh-2023"
SAMPLE_SECONDS, DRAIN_SECONDS, GRACE_SECONDS = 0.5, 10.0, 1.0
HELD = 1e-9  # clock speed while the consumer groups join: time stands still
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) of this process, or of another one by pid."""
    if pid is None:
        return time.process_time()
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICK
    return 0.0


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else (values[0] if values else 0.0)


def ms(values: list[float]) -> dict[str, float]:
    return {"p50": round(percentile(values, 50) * 1e3, 1), "p99": round(percentile(values, 99) * 1e3, 1),
            "max": round(max(values, default=0) * 1e3, 1)}


class Watch:
    """Samples events in flight and event-loop lag; times each dossier event on its arrival at NDXP."""

    def __init__(self, province: Simulation) -> None:
        self.province = province
        self.in_flight: list[int] = []
        self.loop_lag: list[float] = []
        self.latency: list[float] = []  # publish → NDXP's handler
        self.behind: list[float] = []  # simulated schedule (occurred_at) → NDXP's handler, real seconds
        self.handler: list[float] = []  # NDXP's handler, its receipt's produce included
        ndxp = province.ndxp
        for type in DOSSIER_TYPES:  # registering again through the public API replaces the handler
            ndxp.connector.on(type)(self._timed(ndxp._sync))

    def release(self, speed: float) -> None:
        """Let simulated time run at `speed`, noting where it starts to map schedules to real time."""
        clock = self.province.clock
        clock.set_speed(speed)
        self.speed, self.sim0, self.wall0 = speed, clock.now(), time.time()

    def _timed(self, handler):
        async def timed(message: Message) -> None:
            arrived, envelope = time.time(), message.envelope
            self.latency.append(arrived - (envelope.id.int >> 80) / 1000)
            due = self.wall0 + (envelope.occurred_at - self.sim0).total_seconds() / self.speed
            self.behind.append(arrived - due)
            await handler(message)
            self.handler.append(time.time() - arrived)
        return timed

    def events_in_flight(self) -> int:
        return max(0, len(self.province.dossier_system.published) - len(self.province.ndxp.events))

    async def run(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(SAMPLE_SECONDS)
            self.loop_lag.append(time.monotonic() - before - SAMPLE_SECONDS)
            self.in_flight.append(self.events_in_flight())


def backlog(province: Simulation, first: date, days: int, cutoff: datetime) -> int:
    """Dossiers received before `cutoff` that were never submitted (a dossier's first event is its submission)."""
    submitted = set(province.dossier_system.published.values())
    planner = province.dossier_system.planner
    return sum(plan.received_at < cutoff and plan.code not in submitted
               for day in range(days) for plan in planner.day(first + timedelta(days=day)))


async def run_once(speed: float, volume: float, days: int, seed: int, partitions: int,
                   profile: Path | None = None) -> dict[str, Any]:
    scenario = load_scenario(SCENARIO).model_copy(update={"outages": []})
    first = scenario.calendar.start
    end = datetime.combine(first + timedelta(days=days), datetime.min.time(), VN_TZ)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        hub = Hub(Settings(database_url=f"sqlite:///{tmp}/hub.db", partitions=partitions, router_processes=0),
                  inventory=scenario)  # in this process: the bench reads the router's counters
        await hub.start()
        province = Simulation(scenario, seed=seed, speed=HELD, volume=volume, days=days, heartbeat_seconds=5.0,
                              keep_records=True)
        watch = Watch(province)
        try:
            await province.start(LocalRegistrar(hub))
            startup = time.monotonic() - started
            profiler = None
            if profile:
                from pyinstrument import Profiler
                profiler = Profiler(async_mode="disabled")
                profiler.start()
            cpu0, broker0, routed0 = cpu_seconds(), cpu_seconds(hub.broker.pid), hub.router.stats.routed
            t0 = time.monotonic()
            watch.release(speed)
            sampler = asyncio.create_task(watch.run())
            await province.clock.sleep_until(end)
            window = time.monotonic() - t0
            cpu, broker_cpu = cpu_seconds() - cpu0, cpu_seconds(hub.broker.pid) - broker0
            routed = hub.router.stats.routed - routed0
            if profiler:
                profiler.stop()
                write_profile(profiler, profile)
            dossiers, ndxp = province.dossier_system, province.ndxp
            at_stop = {"published": len(dossiers.published), "reached_ndxp": len(ndxp.events),
                       "in_flight": watch.events_in_flight()}
            province.traffic.cancel()  # no more events; do those sent reach NDXP?
            with contextlib.suppress(asyncio.CancelledError):
                await province.traffic
            late = backlog(province, first, days, end - timedelta(seconds=GRACE_SECONDS * speed))
            drain_started, published = time.monotonic(), set(dossiers.published)
            while not published <= ndxp.events.keys() and time.monotonic() - drain_started < DRAIN_SECONDS:
                await asyncio.sleep(0.1)
            drain, missing = time.monotonic() - drain_started, len(published - ndxp.events.keys())
            sampler.cancel()
        finally:
            await province.stop()
            await hub.stop()

    stats, router = dossiers.stats, hub.router.stats
    events, max_in_flight = at_stop["published"], max(watch.in_flight, default=0)
    checks = {"in_flight_bounded": max_in_flight < max(2000, 0.05 * events),
              "no_verification_timeouts": stats.verification_timeouts == 0,
              "no_backlog": late < 0.05 * max(stats.planned, 1), "all_reached_ndxp": missing == 0}
    return {
        "speed": speed, "volume": volume, "days": days, "seed": seed, "partitions": partitions,
        "dossiers_per_working_day": round(scenario.traffic.dossiers_per_day * volume),
        "dossiers": stats.planned, "dossiers_per_sim_day": round(stats.planned / days),
        "dossiers_per_real_s": round(stats.planned / window, 1), "backlog": late,
        "events": events, "events_per_s": round(events / window, 1),
        "router_msgs": routed, "router_msgs_per_s": round(routed / window, 1),
        "window_s": round(window, 2), "startup_s": round(startup, 2), "run_s": round(time.monotonic() - started, 1),
        "at_stop": at_stop, "max_in_flight": max_in_flight,
        "mean_in_flight": round(statistics.fmean(watch.in_flight), 1) if watch.in_flight else 0,
        "latency_ms": ms(watch.latency), "behind_schedule_ms": ms(watch.behind),
        "behind_schedule_sim_minutes_p99": round(percentile(watch.behind, 99) * speed / 60, 1),
        "ndxp_handler_ms": ms(watch.handler), "max_loop_lag_ms": round(max(watch.loop_lag, default=0) * 1e3, 1),
        "cpu_percent": {"python": round(100 * cpu / window), "broker": round(100 * broker_cpu / window)},
        "verification_timeouts": stats.verification_timeouts, "submitted": stats.submitted, "refused": stats.refused,
        "drain_s": round(drain, 2), "missing_after_drain": missing,
        "router": {"routed": router.routed, "deliveries": router.deliveries, "rejected": router.rejected,
                   "batches": router.batches},
        "checks": checks, "keeps_up": all(checks.values()),
    }


def write_profile(profiler: Any, path: Path) -> None:
    from pyinstrument.renderers import ConsoleRenderer

    path.write_text(ConsoleRenderer(unicode=True).render(profiler.last_session))


# -- runs and the sweep ---------------------------------------------------------------------------------
class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.runs: list[dict[str, Any]] = []
        self.started = time.monotonic()

    def measure(self, speed: float, volume: float) -> dict[str, Any]:
        days = self.args.days or (2 if speed <= 3600 else 4)  # Mon–Tue; Mon–Thu lasts ~4 s at 86400×
        result = asyncio.run(run_once(speed, volume, days, self.args.seed, self.args.partitions, self.args.profile))
        self.runs.append(result)
        print(row(result), flush=True)
        return result

    def at(self, speed: float) -> list[dict[str, Any]]:
        return [r for r in self.runs if r["speed"] == speed]

    def bracket(self, speed: float) -> tuple[float | None, float | None]:
        """The highest volume that kept up and the lowest that fell behind, at `speed`."""
        runs = self.at(speed)
        return (max((r["volume"] for r in runs if r["keeps_up"]), default=None),
                min((r["volume"] for r in runs if not r["keeps_up"]), default=None))

    def affordable(self, speed: float) -> bool:
        """Another run at `speed` (as long as the last one there) ends within the budget."""
        last = self.at(speed)[-1]["run_s"] if self.at(speed) else 60.0
        return time.monotonic() - self.started + last <= self.args.budget

    def sweep(self, speeds: list[float]) -> None:
        for speed in speeds:  # find a bracket at every speed first
            volume = min(1.0, 2.0 ** round(math.log2(3600 / speed)))
            while 1 / 1024 <= volume <= 1024:
                kept_up = self.measure(speed, volume)["keeps_up"]
                ok, bad = self.bracket(speed)
                if ok is not None and bad is not None:
                    break
                volume *= 2 if kept_up else 0.5
        for speed in sorted(speeds, reverse=True):  # then narrow them, the fastest (cheapest) runs first
            ok, bad = self.bracket(speed)
            if ok is not None and bad is not None and self.affordable(speed):
                self.measure(speed, float(f"{math.sqrt(ok * bad):.2g}"))


HEADER = (f"{'speed':>7} {'volume':>7} {'doss/wday':>9} {'dossiers':>8} {'events':>7} {'ev/s':>6} {'router/s':>8} "
          f"{'maxfly':>6} {'behind99':>8} {'sim min':>7} {'ndxp ms':>7} {'lag ms':>6} {'py cpu':>6} {'broker':>6} "
          f"{'backlog':>7} {'vto':>3} {'miss':>4}  keeps up")


def row(r: dict[str, Any]) -> str:
    failed = ",".join(k for k, ok in r["checks"].items() if not ok)
    return (f"{r['speed']:>6.0f}× {r['volume']:>7g} {r['dossiers_per_working_day']:>9,} {r['dossiers']:>8,} "
            f"{r['events']:>7,} {r['events_per_s']:>6,.0f} {r['router_msgs_per_s']:>8,.0f} {r['max_in_flight']:>6,} "
            f"{r['behind_schedule_ms']['p99']:>6,.0f}ms {r['behind_schedule_sim_minutes_p99']:>7,.0f} "
            f"{r['ndxp_handler_ms']['p50']:>7.1f} {r['max_loop_lag_ms']:>6,.0f} {r['cpu_percent']['python']:>5}% "
            f"{r['cpu_percent']['broker']:>5}% {r['backlog']:>7,} {r['verification_timeouts']:>3} "
            f"{r['missing_after_drain']:>4}  {'yes' if r['keeps_up'] else 'NO: ' + failed}")


def summary(bench: Bench) -> dict[str, Any]:
    out = {}
    for speed in sorted({r["speed"] for r in bench.runs}):
        ok, bad = bench.bracket(speed)
        best = next((r for r in bench.at(speed) if r["volume"] == ok), None)
        out[f"{speed:g}"] = {"sustained_volume": ok, "first_failing_volume": bad,
                             "sustained_dossiers_per_working_day": best and best["dossiers_per_working_day"],
                             "events_per_s": best and best["events_per_s"]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speeds", default="3600,86400", help="comma-separated clock speeds (sim s per real s)")
    parser.add_argument("--volumes", help="comma-separated volumes to run at each speed (default: sweep)")
    parser.add_argument("--days", type=int, help="simulated days of submissions (default 2 at ≤3600×, else 4)")
    parser.add_argument("--partitions", type=int, default=Settings().partitions,
                        help="partitions of the hub topics (default: LGSP_PARTITIONS or 6)")
    parser.add_argument("--budget", type=float, default=240.0, help="seconds the sweep's refinement may run to")
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--profile", type=Path, help="write a pyinstrument profile of the last run's window here")
    args = parser.parse_args()
    speeds = [float(s) for s in args.speeds.split(",")]
    RESULTS.mkdir(exist_ok=True)

    print(HEADER, flush=True)
    bench = Bench(args)
    if args.volumes:
        for speed in speeds:
            for volume in args.volumes.split(","):
                bench.measure(speed, float(volume))
    else:
        bench.sweep(speeds)
    results = {
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"nproc": len(os.sched_getaffinity(0)), "python": platform.python_version(),
                    "platform": platform.platform()},
        "scenario": SCENARIO, "bench_seconds": round(time.monotonic() - bench.started, 1),
        "summary": summary(bench), "runs": bench.runs,
    }
    (RESULTS / "province.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print("\n" + HEADER + "\n" + "\n".join(map(row, bench.runs)) + "\n")
    for speed, s in results["summary"].items():
        print(f"{float(speed):>6.0f}×: keeps up at volume {s['sustained_volume']} "
              f"({s['sustained_dossiers_per_working_day']} dossiers per working day, {s['events_per_s']} events/s); "
              f"falls behind at volume {s['first_failing_volume']}")


if __name__ == "__main__":
    sys.exit(main())
