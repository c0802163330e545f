"""Province throughput: how many dossiers per simulated day the whole province sustains, at what clock speed.

Run with `.venv/bin/python bench/province.py [--speeds 3600,86400] [--volumes 0.5,1,2] [--days N]
[--budget 240] [--profile PATH]`.

One run = the hub (embedded tansu broker, router) and the three bundled connectors (dossier system,
population database, NDXP) in this process, like `lgsp-hub up`, playing the Bình Định 2023 scenario
without its outages at `--speed` with `volume` × 1,800 dossiers per working day. The sim clock is held
while the hub and the connectors join their consumer groups (~10 s on tansu), then released at 06:00 of
the first day. The run is measured over the submission window only: at midnight after `days` simulated
days the traffic stops (dossiers still open for weeks are dropped), and the bench checks that the events
published so far reach NDXP within a 10 s drain.

While it runs, every 0.5 s it samples the events in flight (published by the dossier system, not yet
handled by NDXP) and the event-loop lag; NDXP's handlers are wrapped to time each event from its UUIDv7
id (publish time, ms) to its arrival. A run keeps up when
  - max in flight < max(2,000, 5 % of the events published),
  - no verification request timed out (the dossier system waits 30 real seconds),
  - dossiers not yet submitted at the stop < 5 % of those received (verification backlog),
  - after the drain every published event reached NDXP.

Without --volumes each speed is swept: start at volume 1 (the scenario), double while it keeps up, or halve
until it does, within --budget seconds in all. Results go to bench/results/province.json; --profile writes
a pyinstrument profile of the (last) run's window to PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from connectors.province import Province
from hub.clock import VN_TZ
from hub.runtime import Hub
from hub.scenario import load_scenario
from hub.sdk import LocalRegistrar
from hub.sdk.connector import Message
from hub.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
SCENARIO = "binh-dinh-2023"
DOSSIER_TYPES = ("dossier.submitted", "dossier.status_changed", "dossier.completed")
SAMPLE_SECONDS, DRAIN_SECONDS = 0.5, 10.0
HELD = 1e-9  # clock speed while the consumer groups join: time stands still at 06:00
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) of this process, or of another by pid."""
    if pid is None:
        return time.process_time()
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICK
    return 0.0


class Watch:
    """Samples events in flight and event-loop lag; times each dossier event's trip to NDXP."""

    def __init__(self, province: Province) -> None:
        self.province = province
        self.in_flight: list[int] = []
        self.loop_lag: list[float] = []
        self.latencies: list[float] = []  # seconds from publish (UUIDv7 time) to NDXP's handler
        ndxp = province.ndxp
        for type in DOSSIER_TYPES:  # re-registering through the public API replaces the handler
            ndxp.connector.on(type)(self._timed(ndxp._sync))

    def _timed(self, handler):
        async def timed(message: Message) -> None:
            self.latencies.append(time.time() - (message.envelope.id.int >> 80) / 1000)
            await handler(message)
        return timed

    def events_in_flight(self) -> int:
        return max(0, len(self.province.dossier_system.published) - len(self.province.ndxp.events))

    async def run(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(SAMPLE_SECONDS)
            self.loop_lag.append(time.monotonic() - before - SAMPLE_SECONDS)
            self.in_flight.append(self.events_in_flight())


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else (values[0] if values else 0.0)


async def run_once(speed: float, volume: float, days: int, seed: int, profile: Path | None = None) -> dict[str, Any]:
    scenario = load_scenario(SCENARIO).model_copy(update={"outages": []})
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        hub = Hub(Settings(database_url=f"sqlite:///{tmp}/hub.db", scenario=SCENARIO, stubs=False))
        await hub.start()
        province = Province(scenario, seed=seed, speed=HELD, volume=volume, days=days, heartbeat_seconds=5.0)
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
            province.clock.set_speed(speed)
            sampler = asyncio.create_task(watch.run())
            end = datetime.combine(scenario.calendar.start + timedelta(days=days), datetime.min.time(), VN_TZ)
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
            stats = dossiers.stats
            planned, submitted = stats.planned, stats.submitted  # every planned dossier was received by now
            province.traffic.cancel()  # no more events; see whether those sent reach NDXP
            with contextlib.suppress(asyncio.CancelledError):
                await province.traffic
            drain_started = time.monotonic()
            published = set(dossiers.published)
            while not published <= ndxp.events.keys() and time.monotonic() - drain_started < DRAIN_SECONDS:
                await asyncio.sleep(0.1)
            drain = time.monotonic() - drain_started
            missing = len(published - ndxp.events.keys())
            sampler.cancel()
        finally:
            await province.stop()
            await hub.stop()

    events = at_stop["published"]
    max_in_flight = max(watch.in_flight, default=0)
    bound = max(2000, 0.05 * events)
    checks = {"in_flight_bounded": max_in_flight < bound, "no_verification_timeouts": stats.verification_timeouts == 0,
              "submitted_in_time": planned - submitted < 0.05 * max(planned, 1), "all_reached_ndxp": missing == 0}
    lat = watch.latencies
    return {
        "speed": speed, "volume": volume, "days": days, "seed": seed,
        "dossiers_per_working_day": round(scenario.traffic.dossiers_per_day * volume),
        "dossiers": planned, "dossiers_per_sim_day": round(planned / days), "submitted_at_stop": submitted,
        "dossiers_per_real_s": round(planned / window, 1),
        "events": events, "events_per_s": round(events / window, 1),
        "router_msgs": routed, "router_msgs_per_s": round(routed / window, 1),
        "window_s": round(window, 2), "startup_s": round(startup, 2),
        "at_stop": at_stop, "max_in_flight": max_in_flight, "in_flight_bound": round(bound),
        "mean_in_flight": round(statistics.fmean(watch.in_flight), 1) if watch.in_flight else 0,
        "latency_ms": {"p50": round(percentile(lat, 50) * 1e3, 1), "p99": round(percentile(lat, 99) * 1e3, 1),
                       "max": round(max(lat, default=0) * 1e3, 1), "count": len(lat)},
        "max_loop_lag_ms": round(max(watch.loop_lag, default=0) * 1e3, 1),
        "cpu_percent": {"python": round(100 * cpu / window), "broker": round(100 * broker_cpu / window)},
        "verification_timeouts": stats.verification_timeouts, "refused": stats.refused,
        "drain_s": round(drain, 2), "missing_after_drain": missing,
        "router": {"routed": hub.router.stats.routed, "deliveries": hub.router.stats.deliveries,
                   "rejected": hub.router.stats.rejected, "batches": hub.router.stats.batches},
        "checks": checks, "keeps_up": all(checks.values()),
    }


def write_profile(profiler: Any, path: Path) -> None:
    from pyinstrument.renderers import ConsoleRenderer

    session = profiler.last_session
    flat = ConsoleRenderer(flat=True, unicode=True, show_all=True).render(session)
    tree = ConsoleRenderer(unicode=True).render(session)
    path.write_text("# the measured window: functions by self time\n" + flat + "\n# call tree\n" + tree)


def default_days(speed: float) -> int:
    """Two simulated days (Mon–Tue) at up to 3600×; four (Mon–Thu) faster, so the window lasts a few seconds."""
    return 2 if speed <= 3600 else 4


def measure(speed: float, volume: float, args: argparse.Namespace) -> dict[str, Any]:
    days = args.days or default_days(speed)
    result = asyncio.run(run_once(speed, volume, days, args.seed, args.profile))
    print(row(result), flush=True)
    return result


def sweep(speed: float, args: argparse.Namespace, deadline: float) -> list[dict[str, Any]]:
    """Volume 1 first; double while it keeps up, else halve until it does (or the budget runs out)."""
    runs = [measure(speed, 1.0, args)]
    step = 2.0 if runs[0]["keeps_up"] else 0.5
    while time.monotonic() < deadline and 1 / 64 <= runs[-1]["volume"] <= 256:
        last = runs[-1]
        if (step > 1) != last["keeps_up"]:  # went past the edge
            break
        runs.append(measure(speed, last["volume"] * step, args))
    return runs


HEADER = (f"{'speed':>7} {'vol':>6} {'doss/wday':>9} {'dossiers':>8} {'events':>7} {'ev/s':>7} {'router/s':>8} "
          f"{'maxfly':>7} {'p99 ms':>8} {'lag ms':>7} {'cpu py':>6} {'broker':>6} {'vto':>4} {'miss':>5}  keeps up")


def row(r: dict[str, Any]) -> str:
    failed = ",".join(k for k, ok in r["checks"].items() if not ok)
    return (f"{r['speed']:>6.0f}× {r['volume']:>6g} {r['dossiers_per_working_day']:>9,} {r['dossiers']:>8,} "
            f"{r['events']:>7,} {r['events_per_s']:>7,.0f} {r['router_msgs_per_s']:>8,.0f} {r['max_in_flight']:>7,} "
            f"{r['latency_ms']['p99']:>8,.0f} {r['max_loop_lag_ms']:>7,.0f} {r['cpu_percent']['python']:>5}% "
            f"{r['cpu_percent']['broker']:>5}% {r['verification_timeouts']:>4} {r['missing_after_drain']:>5}  "
            f"{'yes' if r['keeps_up'] else 'NO (' + failed + ')'}")


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per speed: the highest volume that kept up, and the lowest that did not."""
    out = {}
    for speed in sorted({r["speed"] for r in runs}):
        ok = [r for r in runs if r["speed"] == speed and r["keeps_up"]]
        bad = [r for r in runs if r["speed"] == speed and not r["keeps_up"]]
        best = max(ok, key=lambda r: r["volume"], default=None)
        out[f"{speed:g}"] = {
            "sustained_volume": best and best["volume"],
            "sustained_dossiers_per_working_day": best and best["dossiers_per_working_day"],
            "events_per_s": best and best["events_per_s"],
            "first_failing_volume": min((r["volume"] for r in bad), default=None),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speeds", default="3600,86400", help="comma-separated clock speeds (sim s per real s)")
    parser.add_argument("--volumes", help="comma-separated volumes to run at each speed (default: sweep)")
    parser.add_argument("--days", type=int, help="simulated days of submissions (default 2 at ≤3600×, else 4)")
    parser.add_argument("--budget", type=float, default=240.0, help="seconds the sweep may take in all")
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--profile", type=Path, help="write a pyinstrument profile of the (last) run here")
    args = parser.parse_args()
    speeds = [float(s) for s in args.speeds.split(",")]
    RESULTS.mkdir(exist_ok=True)

    print(HEADER, flush=True)
    started = time.monotonic()
    runs: list[dict[str, Any]] = []
    for i, speed in enumerate(speeds):
        if args.volumes:
            runs += [measure(speed, float(v), args) for v in args.volumes.split(",")]
        else:  # the budget is shared evenly by the speeds still to sweep
            remaining = args.budget - (time.monotonic() - started)
            runs += sweep(speed, args, time.monotonic() + remaining / (len(speeds) - i))
    results = {
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"nproc": len(os.sched_getaffinity(0)), "python": platform.python_version(),
                    "platform": platform.platform()},
        "scenario": SCENARIO, "bench_seconds": round(time.monotonic() - started, 1),
        "summary": summary(runs), "runs": runs,
    }
    (RESULTS / "province.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print("\n" + HEADER + "\n" + "\n".join(map(row, runs)))
    for speed, s in results["summary"].items():
        print(f"{float(speed):>6.0f}×: sustains volume {s['sustained_volume']} = {s['sustained_dossiers_per_working_day']}"
              f" dossiers per working day ({s['events_per_s']} events/s); first failing volume {s['first_failing_volume']}")
    if args.profile:
        print(f"profile: {args.profile}")


if __name__ == "__main__":
    sys.exit(main())
