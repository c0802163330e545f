"""Soak: `lgsp-hub up` as an operator leaves it running, sampled every 30 s for hours.

Run with `.venv/bin/python bench/soak.py [--broker kafka|tansu] [--minutes 120 | --smoke] [--interval 30]
[--router-processes N] [--retention-minutes M] [--profile SECONDS]`.

The bench starts `lgsp-hub up` (the default scenario, its clock, its connectors, the hub's own broker) in a
process of its own, as a user would, and every interval samples:
  - messages routed per second, and refused;
  - route latency (ingress timestamp → inbox write final) and delivery latency (→ the receiving handler)
    p50/p95/p99, from the deltas of the Prometheus histograms of the hub and of every router worker;
  - RSS and CPU of every process: the hub (API, operator view, the province's connectors), each router
    worker, the broker;
  - the broker's disk use (Apache Kafka's data folder; tansu keeps all in memory).
After a warm-up (a tenth of the run, at most 10 minutes) it sums up the run against the targets and
stops the hub with SIGINT, as Ctrl-C would, timing the stop. `--profile S` records S seconds of the hub and
of the router workers with py-spy once warm, and keeps each process's functions by own time.

Results: bench/results/soak.json (bench/results/soak-smoke.json with --smoke), one entry per broker, and the
chart docs/images/soak-<broker>.svg (…-smoke.svg).
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import psutil
from prometheus_client.parser import text_string_to_metric_families
from runs import RESULTS, ended, machine, stop_on_sigterm, write_results

from hub.bus.brokers.process import free_port

ROOT = Path(__file__).resolve().parent.parent
CHARTS = ROOT / "docs" / "images"
TOKEN = "soak-operator-token"
TARGETS = {  # issue targets at the scenario's default rate, on the two-core machine
    "route_p50_ms": 25, "route_p99_ms": 150, "delivery_p99_ms": 250, "hub_rss_growth_mb_per_min": 1.0}
HISTOGRAMS = {"route": "lgsp_route_latency_seconds", "delivery": "lgsp_delivery_latency_seconds"}


class Histogram:
    """Cumulative bucket counts summed over processes and label sets, {upper bound: count}."""

    def __init__(self, buckets: dict[float, float] | None = None) -> None:
        self.buckets = buckets or {}

    def __sub__(self, before: Histogram) -> Histogram:
        return Histogram({le: n - before.buckets.get(le, 0.0) for le, n in self.buckets.items()})

    @property
    def count(self) -> float:
        return self.buckets.get(float("inf"), 0.0)

    def quantile(self, q: float) -> float | None:
        """As Prometheus's histogram_quantile: linear within the bucket the rank falls in; seconds."""
        if self.count <= 0:
            return None
        rank, lower, below = q * self.count, 0.0, 0.0
        for le, n in sorted(self.buckets.items()):
            if n >= rank:
                if le == float("inf"):
                    return lower
                return lower + (le - lower) * (rank - below) / max(n - below, 1e-12)
            lower, below = le, n
        return lower


def scrape(urls: list[str]) -> dict[str, Any]:
    """Counters and histograms of every process, summed."""
    totals: dict[str, Any] = {"routed": 0.0, "rejected": 0.0, **{k: Histogram() for k in HISTOGRAMS}}
    for url in urls:
        try:
            text = httpx.get(url, timeout=10).text
        except httpx.HTTPError:
            continue  # a worker being started again: its counters start from zero anyway
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                _add(totals, family.name, sample)
    totals["routed"] = totals["route"].count
    return totals


def _add(totals: dict[str, Any], family: str, sample: Any) -> None:
    if family == "lgsp_messages_rejected" and sample.name.endswith("_total"):
        totals["rejected"] += sample.value
    for key, name in HISTOGRAMS.items():
        if family == name and sample.name.endswith("_bucket"):
            le = float(sample.labels["le"])
            buckets = totals[key].buckets
            buckets[le] = buckets.get(le, 0.0) + sample.value


class Processes:
    """RSS and CPU of the hub's process tree, each process named by its role."""

    def __init__(self, root: int) -> None:
        self.root = psutil.Process(root)
        self._seen: dict[int, psutil.Process] = {}

    def sample(self) -> dict[str, dict[str, float]]:
        found: dict[str, dict[str, float]] = {}
        routers = 0
        for process in [self.root, *self.root.children(recursive=True)]:
            process = self._seen.setdefault(process.pid, process)
            try:
                role = role_of(process.cmdline(), process is self.root)
                if role == "router":
                    routers += 1
                    role = f"router-{routers}"
                found[role] = {"rss_mb": round(process.memory_info().rss / 2**20, 1),
                               "cpu_percent": round(process.cpu_percent(None), 1)}
            except psutil.Error:
                continue
        return found


def role_of(cmdline: list[str], is_root: bool) -> str:
    line = " ".join(cmdline)
    if is_root:
        return "hub"
    if "kafka.Kafka" in line or "tansu" in line:
        return "broker"
    if "hub router" in line:
        return "router"
    return cmdline[0].rsplit("/", 1)[-1] if cmdline else "other"


def disk_mb(folder: Path) -> float | None:
    """Blocks in use, not apparent sizes: Kafka's index files are preallocated sparse (10 MiB each)."""
    if not folder.exists():
        return None
    return round(sum(f.stat().st_blocks * 512 for f in folder.rglob("*") if f.is_file()) / 2**20, 1)


class Soak:
    def __init__(self, args: argparse.Namespace, scratch: Path) -> None:
        self.args, self.scratch = args, scratch
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data = scratch / "kafka"
        self.log = scratch / "hub.log"
        self.samples: list[dict[str, Any]] = []
        self.profiles: dict[str, Any] = {}

    def env(self) -> dict[str, str]:
        env = {**os.environ, "LGSP_BROKER": self.args.broker, "LGSP_PORT": str(self.port),
               "LGSP_DATABASE_URL": f"sqlite:///{self.scratch / 'hub.db'}", "LGSP_KAFKA_DATA_DIR": str(self.data),
               "LGSP_OPERATOR_TOKEN": TOKEN}
        if self.args.router_processes is not None:
            env["LGSP_ROUTER_PROCESSES"] = str(self.args.router_processes)
        if self.args.retention_minutes is not None:  # to see the disk level off within a shorter run
            env["LGSP_RETENTION_MS"] = str(round(self.args.retention_minutes * 60_000))
        env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
        return env

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.hub = subprocess.Popen([sys.executable, "-m", "hub", "up"], cwd=ROOT, env=self.env(), stdout=out,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.hub.poll() is not None:
                raise SystemExit(f"the hub ended at start:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=5).json()["status"] == "ok":
                    self.processes = Processes(self.hub.pid)
                    return
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            time.sleep(1)
        raise SystemExit("the hub was not healthy within 300 s")

    def metrics_urls(self) -> list[str]:
        health = httpx.get(f"{self.url}/v1/health", timeout=10).json()
        return [f"{self.url}/metrics", *(w["metrics"] for w in health.get("router_workers") or [])]

    def run(self) -> None:
        started, end = time.monotonic(), time.monotonic() + self.args.minutes * 60
        before, at = scrape(self.metrics_urls()), time.monotonic()
        self.processes.sample()  # CPU is measured from here
        self.first, self.at_warm = before, None
        profile_at = started + self.warmup_seconds() if self.args.profile else None
        while time.monotonic() < end:
            time.sleep(max(0.0, min(self.args.interval, end - time.monotonic())))
            if self.hub.poll() is not None:
                raise SystemExit(f"the hub ended during the soak:\n{self.log.read_text()[-3000:]}")
            now, then = scrape(self.metrics_urls()), at
            at = time.monotonic()
            self.samples.append(self.sample(at - started, now, before, at - then))
            before = now
            if self.at_warm is None and at - started >= self.warmup_seconds():
                self.at_warm = now
            print(line(self.samples[-1]), flush=True)
            if profile_at is not None and at >= profile_at:
                self.profiles, profile_at = profile(self.processes, self.args.profile, self.scratch), None
        self.last = before

    def sample(self, t: float, now: dict, before: dict, seconds: float) -> dict[str, Any]:
        window = {key: now[key] - before[key] for key in HISTOGRAMS}
        return {
            "t_s": round(t), "routed_per_s": round((now["routed"] - before["routed"]) / seconds, 1),
            "rejected_per_s": round((now["rejected"] - before["rejected"]) / seconds, 2),
            **{f"{key}_{name}_ms": _ms(window[key].quantile(q)) for key in HISTOGRAMS
               for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
            "processes": self.processes.sample(), "broker_disk_mb": disk_mb(self.data),
        }

    def warmup_seconds(self) -> float:
        return min(600.0, self.args.minutes * 6)

    def stop(self) -> float | None:
        """SIGINT to the hub's process group, as a terminal's Ctrl-C: seconds until it ended."""
        if self.hub.poll() is not None:
            return None
        started = time.monotonic()
        os.killpg(self.hub.pid, signal.SIGINT)
        try:
            self.hub.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.hub.kill()
            return None
        return round(time.monotonic() - started, 1)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def line(s: dict[str, Any]) -> str:
    rss = " ".join(f"{role} {p['rss_mb']:.0f}M/{p['cpu_percent']:.0f}%" for role, p in s["processes"].items())
    return (f"{s['t_s'] / 60:6.1f} min  {s['routed_per_s']:7.1f} msg/s  route p50/p99 {s['route_p50_ms']}/"
            f"{s['route_p99_ms']} ms  delivery p99 {s['delivery_p99_ms']} ms  {rss}  disk {s['broker_disk_mb']} MB")


def profile(processes: Processes, seconds: int, scratch: Path) -> dict[str, Any]:
    """py-spy on the hub and every router worker at once: each one's functions by own time (top 15)."""
    targets = {"hub": processes.root.pid} | {
        f"router-{i}": p.pid for i, p in enumerate(
            (p for p in processes.root.children(recursive=True) if role_of(p.cmdline(), False) == "router"), 1)}
    py_spy = Path(sys.executable).parent / "py-spy"
    runs = {role: subprocess.Popen([str(py_spy), "record", "--pid", str(pid), "--duration", str(seconds), "--format",
                                    "raw", "--nonblocking", "--output", str(scratch / f"{role}.txt")],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for role, pid in targets.items()}
    found = {}
    for role, run in runs.items():
        run.wait()
        found[role] = own_time(scratch / f"{role}.txt")
    return found


def own_time(collapsed: Path, top: int = 15) -> dict[str, Any]:
    """The frames that were on top of the stack most often, as shares of the samples."""
    if not collapsed.exists():
        return {}
    tops: collections.Counter[str] = collections.Counter()
    for entry in collapsed.read_text().splitlines():
        stack, _, count = entry.rpartition(" ")
        tops[stack.rsplit(";", 1)[-1]] += int(count)
    total = sum(tops.values()) or 1
    return {"samples": total, "top": [[frame, round(n / total, 3)] for frame, n in tops.most_common(top)]}


def summary(soak: Soak) -> dict[str, Any]:
    warm = [s for s in soak.samples if s["t_s"] >= soak.warmup_seconds()]
    since = soak.at_warm or soak.first
    after = {key: soak.last[key] - since[key] for key in HISTOGRAMS}
    result = {
        "warmup_s": soak.warmup_seconds(),
        "routed_per_s": {"mean": _mean(s["routed_per_s"] for s in warm),
                         "max": max((s["routed_per_s"] for s in warm), default=None)},
        **{f"{key}_ms": {name: _ms(after[key].quantile(q)) for name, q in (("p50", .5), ("p95", .95), ("p99", .99))}
           for key in HISTOGRAMS},
        "worst_30s_route_p99_ms": max((s["route_p99_ms"] or 0 for s in warm), default=None),
        "rss_growth_mb_per_min": _growth(warm),
        "rss_mb_last": {role: p["rss_mb"] for role, p in soak.samples[-1]["processes"].items()} if soak.samples else {},
        "cpu_percent_mean": _cpu(warm),
        "broker_disk_mb": {"max": max((s["broker_disk_mb"] or 0 for s in soak.samples), default=None),
                           "last": soak.samples[-1]["broker_disk_mb"] if soak.samples else None},
    }
    measured = {"route_p50_ms": result["route_ms"]["p50"], "route_p99_ms": result["route_ms"]["p99"],
                "delivery_p99_ms": result["delivery_ms"]["p99"],
                "hub_rss_growth_mb_per_min": result["rss_growth_mb_per_min"].get("hub")}
    result["targets"] = {name: {"goal": goal, "measured": measured[name],
                                "met": measured[name] is not None and measured[name] < goal}
                         for name, goal in TARGETS.items()}
    return result


def _mean(values) -> float | None:
    values = list(values)
    return round(statistics.fmean(values), 1) if values else None


def _growth(samples: list[dict]) -> dict[str, float]:
    """RSS slope of each process over the samples (least squares), MB a minute."""
    series: dict[str, tuple[list[float], list[float]]] = {}
    for s in samples:
        for role, p in s["processes"].items():
            ts, mb = series.setdefault(role, ([], []))
            ts.append(s["t_s"] / 60)
            mb.append(p["rss_mb"])
    return {role: round(statistics.linear_regression(ts, mb).slope, 2)
            for role, (ts, mb) in series.items() if len(ts) >= 3}


def _cpu(samples: list[dict]) -> dict[str, float]:
    by_role: dict[str, list[float]] = {}
    for s in samples:
        for role, p in s["processes"].items():
            by_role.setdefault(role, []).append(p["cpu_percent"])
    return {role: round(statistics.fmean(values)) for role, values in by_role.items()}


def chart(samples: list[dict], title: str, path: Path) -> None:
    """Throughput, latency and memory over the run, one panel each, as SVG."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: a smaller file
    from matplotlib import pyplot

    minutes = [s["t_s"] / 60 for s in samples]
    figure, (rate, latency, memory) = pyplot.subplots(3, 1, figsize=(9, 8), sharex=True)
    rate.plot(minutes, [s["routed_per_s"] for s in samples], color="#1f6f8b")
    rate.set_ylabel("routed msg/s")
    for key, name, style in (("route", "p50", "-"), ("route", "p99", "--"), ("delivery", "p99", ":")):
        latency.plot(minutes, [s[f"{key}_{name}_ms"] for s in samples], style, label=f"{key} {name}")
    latency.set_yscale("log")
    latency.set_ylabel("latency, ms")
    latency.legend(loc="upper right", fontsize="small")
    roles = sorted({role for s in samples for role in s["processes"]})
    for role in roles:
        memory.plot(minutes, [s["processes"].get(role, {}).get("rss_mb") for s in samples], label=f"{role} RSS")
    if any(s["broker_disk_mb"] for s in samples):
        memory.plot(minutes, [s["broker_disk_mb"] for s in samples], "k:", label="broker disk")
    memory.set_ylabel("MB")
    memory.set_xlabel("minutes")
    memory.legend(loc="upper left", fontsize="small")
    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)


def report(summary_: dict[str, Any]) -> str:
    rows = [f"  {name:28} {t['measured']!s:>8}  goal < {t['goal']:<6} {'met' if t['met'] else 'MISSED'}"
            for name, t in summary_["targets"].items()]
    return "\n".join(["targets after the warm-up:", *rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--broker", choices=("kafka", "tansu"), default="kafka")
    parser.add_argument("--minutes", type=float, default=120.0)
    parser.add_argument("--smoke", action="store_true", help="10 minutes, written apart (make bench).")
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--router-processes", type=int, default=None, help="LGSP_ROUTER_PROCESSES (unset: its default).")
    parser.add_argument("--retention-minutes", type=float, default=None,
                        help="LGSP_RETENTION_MS (unset: what lgsp-hub up keeps, an hour at ×3600).")
    parser.add_argument("--name", default=None, help="Results name (bench/results/<name>.json, the chart "
                        "docs/images/<name>-<broker>.svg); unset: soak, or soak-smoke with --smoke.")
    parser.add_argument("--profile", type=int, default=0, metavar="SECONDS", help="py-spy, once warm.")
    args = parser.parse_args()
    if args.smoke:
        args.minutes = 10.0
    stop_on_sigterm()
    started = datetime.now(timezone.utc)
    name = args.name or ("soak-smoke" if args.smoke else "soak")
    with tempfile.TemporaryDirectory(prefix="lgsp-soak-") as scratch:
        soak = Soak(args, Path(scratch))
        soak.start()
        try:
            soak.run()
        finally:
            stop_seconds = soak.stop()
    result = {"machine": machine(), "started": started.isoformat(timespec="seconds"), "minutes": args.minutes,
              "interval_s": args.interval, "router_processes": args.router_processes,
              "retention_minutes": args.retention_minutes, "stop_s": stop_seconds,
              "summary": summary(soak), "profile": soak.profiles, "samples": soak.samples, **ended(started)}
    path = RESULTS / f"{name}.json"
    runs = json_runs(path)
    runs[args.broker] = result
    write_results(path, {"runs": runs})
    chart(soak.samples, f"lgsp-hub up, {args.broker}, {args.minutes:g} min", CHARTS / f"{name}-{args.broker}.svg")
    print(report(result["summary"]))


def json_runs(path: Path) -> dict[str, Any]:
    import json

    return json.loads(path.read_text()).get("runs", {}) if path.exists() else {}


if __name__ == "__main__":
    main()
