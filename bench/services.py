"""Synchronous calls through the hub: latency p50/p99 at 25, 50 and 75% of the peak call rate, against a
direct call to the provider's handler as the floor.

Run with `.venv/bin/python bench/services.py [--brokers kafka,tansu] [--seconds 30] [--step-seconds 5]
[--out PATH]` (default: Apache Kafka only, ~4 minutes; `make bench` runs it so).

For each broker of `--brokers` the bench starts `lgsp-hub up` (LGSP_STUBS=false, the hub's own broker, one
router worker) as a process of its own and registers a caller, `mot-cua-bench`. The population stub
(province/connectors/population_db, 100,000 citizens) runs in a spawned child process: there it has an
event loop and a core of its own, as a real provider would, and does not share the load generator's.

  floor   the provider's handler called in this process, before any hub starts: the connector's dispatch of
          one inbox record (decode, de-duplication, Population.verify, the reply envelope encoded and signed),
          its producer replaced by one that only acknowledges. `verify_only` is Population.verify alone.
  peak    closed loop through POST /v1/services/csdl-dan-cu/citizen.verify.request with httpx.AsyncClient
          (keep-alive), after a 10 s warm-up, 1, 2, 4, … 256 concurrent callers, `--step-seconds` each, until
          the rate grew by less than 10% twice. Peak: the best calls/s of a step with < 1% errors. The
          1-caller step is the hub's latency for one call at a time.
  load    open loop at 25, 50 and 75% of peak for `--seconds` each: calls sent at scheduled times, each timed
          from its scheduled time (no coordinated omission: a late send counts as latency). p50/p99 and each
          as a ratio over the floor's p50; errors are non-200 answers and client timeouts (30 s).
  split   per load level, the medians of the hub's own records of the call (GET /v1/services/calls, its last
          1000 calls): edge = request_in → request_out (the call's checks and the ingress ack), provider
          round = request_out → response_in (router → provider inbox → handler → reply produced; response_in is
          the reply record's timestamp, which the provider's producer sets), reply back = response_in →
          response_out (router → replies partition → the API process answers), and outside = the client's
          latency less the Server-Timing `hub;dur` (HTTP, the event loops, the client's own wait).

Requests are built and signed (Ed25519, the caller's credential) before each open-loop level starts; in the
closed loop each caller signs its next request between calls (`request_signing` in the floor: its cost).
Every step and level also records the CPU each process spent per call (API process, router worker, broker,
provider, this client), and the bench first records their CPU with no call for 5 s. Results:
bench/results/services.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
from aiokafka import ConsumerRecord

# bench/province.py would shadow the `province` package: this directory goes after the project.
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE] + [str(HERE)]

from runs import RESULTS, ended, machine, stop_on_sigterm, write_results  # noqa: E402
from soak import role_of  # noqa: E402

from hub.bus.brokers.process import free_port
from hub.bus.topics import REPLY_TO_HEADER, Topics
from hub.core.credentials import Credential, issue
from hub.sdk import HttpRegistrar
from hub.sdk.registrar import RegistrationClient
from hub.testing.pytest_plugin import launch, stop_process
from province.connectors.population_db.connector import ID as PROVIDER
from province.connectors.population_db.connector import PopulationDatabase
from province.connectors.population_db.population import Population

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "services-bench-operator-token"
SERVICE = "citizen.verify.request"
CALLER = {"id": "mot-cua-bench", "name": "Một cửa (bench)", "agency": "000.00.01.H22",
          "produces": [SERVICE], "consumes": ["citizen.verify.reply"]}
SEED, CITIZENS = 15, 100_000
LOADS = (0.25, 0.50, 0.75)
MAX_CALLERS = 256
GROWTH = 1.10  # twice the callers and not 10% more calls: the hub is saturated
WARMUP_SECONDS = 10.0  # the first calls after a start are slower: connections, first fetches, first batches
CLIENT_TIMEOUT = 30.0
IDLE_SECONDS = 5.0


# --- what a call is made of ------------------------------------------------------------------------------
class Requests:
    """Signed citizen verification requests from the caller, each with its own id and a random citizen."""

    def __init__(self, credential: Credential, population: Population, seed: int = 1) -> None:
        self.credential, self.population = credential, population
        self._rng = random.Random(seed)

    def envelope(self) -> bytes:
        citizen = self.population[self._rng.randrange(len(self.population))]
        payload = {"MaYeuCau": f"YC-{self._rng.randrange(10**9)}", "MaDichVu": "XAC_THUC", "MaCanBo": "CB-1",
                   "SoDinhDanh": citizen.personal_id, "HoVaTen": citizen.full_name,
                   "NgaySinh": citizen.birth_date.isoformat()}
        return orjson.dumps({"id": str(uuid.uuid4()), "type": SERVICE, "version": 1, "source": CALLER["id"],
                             "target": PROVIDER, "occurred_at": datetime.now(timezone.utc).isoformat(),
                             "payload": payload})

    def next(self) -> tuple[bytes, dict[str, str]]:
        raw = self.envelope()
        return raw, {"content-type": "application/json", **self.credential.http_headers(raw)}


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)  # seconds, answered calls only
    hub_ms: list[float] = field(default_factory=list)  # Server-Timing hub;dur of each answered call
    errors: dict[str, int] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)
    seconds: float = 0.0  # from the first call to the last answer

    @property
    def calls(self) -> int:
        return len(self.latencies) + sum(self.errors.values())

    def error_share(self) -> float:
        return sum(self.errors.values()) / self.calls if self.calls else 0.0

    def add_error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


async def call(client: httpx.AsyncClient, raw: bytes, headers: dict[str, str], since: float,
               outcome: Outcome) -> None:
    """One call, timed from `since` (perf_counter): its scheduled time, or when it was sent."""
    try:
        response = await client.post(f"/v1/services/{PROVIDER}/{SERVICE}", content=raw, headers=headers)
    except httpx.HTTPError as exc:
        outcome.add_error(type(exc).__name__)
        return
    if response.status_code != 200:
        outcome.add_error(str(response.status_code))
        return
    outcome.latencies.append(time.perf_counter() - since)
    outcome.hub_ms.append(float(response.headers["server-timing"].split("dur=", 1)[1]))
    outcome.ids.add(orjson.loads(raw)["id"])


def quantiles(seconds: list[float]) -> dict[str, float | None]:
    if not seconds:
        return {"p50_ms": None, "p99_ms": None}
    ordered = sorted(seconds)
    at = lambda q: round(ordered[min(int(q * len(ordered)), len(ordered) - 1)] * 1000, 3)  # noqa: E731
    return {"p50_ms": at(0.5), "p99_ms": at(0.99)}


# --- the floor: the provider's handler, no hub ------------------------------------------------------------
class Acknowledging:
    """A producer that acknowledges at once: the handler's reply costs its encoding and signing only."""

    async def send(self, *args: Any, **kwargs: Any) -> asyncio.Future:
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def floor(population: Population, calls: int = 5000, warmup: int = 500) -> dict[str, Any]:
    return asyncio.run(_floor(population, calls, warmup))


async def _floor(population: Population, calls: int, warmup: int) -> dict[str, Any]:
    stub = PopulationDatabase(population)
    connector = stub.connector  # its inbox side, without a broker: the fields start() would set
    connector._credential, _ = issue(PROVIDER)
    connector._producer, connector.topics = Acknowledging(), Topics()
    requests = Requests(issue(CALLER["id"])[0], population, seed=2)
    records = [inbox_record(requests.envelope()) for _ in range(calls + warmup)]
    handled = []
    for record in records:
        started = time.perf_counter()
        await connector._dispatch(record)
        handled.append(time.perf_counter() - started)
    payloads = [orjson.loads(r.value)["payload"] for r in records[:calls]]
    verified = []
    for payload in payloads:
        started = time.perf_counter()
        population.verify(payload)
        verified.append(time.perf_counter() - started)
    assert stub.answered == calls + warmup, "the handler did not answer every request"
    return {"calls": calls, "handler": quantiles(handled[warmup:]), "verify_only": quantiles(verified),
            "request_signing": signing_cost(requests)}


def inbox_record(raw: bytes) -> ConsumerRecord:
    """The request as the provider reads it from its inbox: the router's timestamp and the reply partition."""
    return ConsumerRecord("lgsp.inbox.csdl-dan-cu", 0, 0, int(time.time() * 1000), 0, None, raw, None, 0,
                          len(raw), [(REPLY_TO_HEADER, b"0")])


def signing_cost(requests: Requests, n: int = 2000) -> dict[str, float | None]:
    """What the client spends building and signing one request (inside the closed loop's latency)."""
    spent = []
    for _ in range(n):
        started = time.perf_counter()
        requests.next()
        spent.append(time.perf_counter() - started)
    return quantiles(spent)


# --- the provider, in a process of its own ------------------------------------------------------------------
def provide(hub_url: str, token: str, ready: Any, stop: Any, done: Any) -> None:
    """The population stub answering through the hub until `stop` is set; its counters on `done`."""
    async def run() -> dict[str, int]:
        stub = PopulationDatabase(Population(SEED, CITIZENS))
        stub.connector.heartbeat_seconds = 1.0
        await stub.connector.start(HttpRegistrar(hub_url, token))
        ready.set()
        await asyncio.to_thread(stop.wait)
        await stub.connector.stop()
        return {"answered": stub.answered, "failures": stub.failures, "handled": stub.connector.counters.handled,
                "dead_lettered": stub.connector.counters.failed}
    done.put(asyncio.run(run()))


class Provider:
    def __init__(self, hub_url: str) -> None:
        ctx = mp.get_context("spawn")
        self._ready, self._stop, self._done = ctx.Event(), ctx.Event(), ctx.Queue()
        self._process = ctx.Process(target=provide, args=(hub_url, TOKEN, self._ready, self._stop, self._done),
                                    daemon=True)

    def start(self) -> Provider:
        self._process.start()
        deadline = time.monotonic() + 120
        while not self._ready.wait(0.5):
            if not self._process.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the population stub did not start (exit code {self._process.exitcode})")
        return self

    @property
    def pid(self) -> int:
        return self._process.pid

    def stop(self) -> dict[str, int] | None:
        self._stop.set()
        try:
            return self._done.get(timeout=40)
        except Exception:
            return None
        finally:
            self._process.join(5)
            if self._process.is_alive():
                self._process.kill()


# --- the hub ---------------------------------------------------------------------------------------------
class Hub:
    """`lgsp-hub up` without the province's stubs, on its own broker and a fresh store."""

    def __init__(self, broker: str, scratch: Path) -> None:
        self.port, self.scratch, self.broker = free_port(), scratch, broker
        self.url = f"http://127.0.0.1:{self.port}"
        self.operator = {"Authorization": f"Bearer {TOKEN}"}

    def start(self) -> Hub:
        env = {**os.environ, "LGSP_BROKER": self.broker, "LGSP_PORT": str(self.port), "LGSP_STUBS": "false",
               "LGSP_DATABASE_URL": f"sqlite:///{self.scratch / 'hub.db'}", "LGSP_OPERATOR_TOKEN": TOKEN,
               "LGSP_KAFKA_DATA_DIR": str(self.scratch / "kafka"), "LGSP_HEARTBEAT_TIMEOUT_SECONDS": "5"}
        env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
        self.process = launch(env, ROOT, self.scratch / "hub.log", timeout=300, own_group=True)
        return self

    def register_caller(self) -> Credential:
        return RegistrationClient(self.url, TOKEN).enrol(CALLER)[0]

    def wait_running(self, provider: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if httpx.get(f"{self.url}/v1/connectors/{provider}/status", timeout=5).json().get("state") == "RUNNING":
                return
            time.sleep(0.3)
        raise TimeoutError(f"{provider} was not RUNNING within {timeout:g} s")

    def calls(self) -> list[dict[str, Any]]:
        return httpx.get(f"{self.url}/v1/services/calls", params={"limit": 1000}, headers=self.operator,
                         timeout=30).json()

    def stop(self) -> None:
        stop_process(self.process)


class CpuTime:
    """CPU seconds each process of the call path spent over a measurement: the hub's (API, router worker,
    broker), the provider's, this one's (the client)."""

    def __init__(self, hub_pid: int, provider_pid: int) -> None:
        root = psutil.Process(hub_pid)
        self.processes = {role_of(p.cmdline(), p is root): p for p in [root, *root.children(recursive=True)]}
        self.processes.update(provider=psutil.Process(provider_pid), client=psutil.Process())
        self._start = self._now()

    def _now(self) -> dict[str, float]:
        spent = {}
        for role, process in self.processes.items():
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                spent[role] = times.user + times.system
        return spent

    def restart(self) -> None:
        self._start = self._now()

    def percent(self, seconds: float) -> dict[str, float]:
        """% of one core each process used since restart(), over `seconds`."""
        now = self._now()
        return {role: round((now[role] - self._start.get(role, now[role])) / seconds * 100, 1) for role in now}

    def per_call(self, calls: int) -> dict[str, float]:
        """ms of CPU per call, each process."""
        now = self._now()
        return {role: round((now[role] - self._start.get(role, now[role])) / max(calls, 1) * 1000, 2)
                for role in now}


# --- closed loop: the peak -------------------------------------------------------------------------------
async def closed_loop(client: httpx.AsyncClient, requests: Requests, callers: int, seconds: float) -> Outcome:
    outcome = Outcome()
    deadline = time.perf_counter() + seconds

    async def caller() -> None:
        while (now := time.perf_counter()) < deadline:
            raw, headers = requests.next()
            await call(client, raw, headers, now, outcome)

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    outcome.seconds = time.perf_counter() - started
    return outcome


async def peak(client: httpx.AsyncClient, requests: Requests, seconds: float, cpu: CpuTime) -> dict[str, Any]:
    """Concurrency doubled until the rate grew by less than 10% twice in a row."""
    await closed_loop(client, requests, 4, WARMUP_SECONDS)  # connections, producers, every partition touched
    steps, best, flat, callers = [], 0.0, 0, 1
    while callers <= MAX_CALLERS and flat < 2:
        cpu.restart()
        outcome = await closed_loop(client, requests, callers, seconds)
        rate = len(outcome.latencies) / outcome.seconds
        steps.append({"callers": callers, "calls_per_s": round(rate, 1), "errors": outcome.errors,
                      "error_share": round(outcome.error_share(), 4), **quantiles(outcome.latencies),
                      "cpu_ms_per_call": cpu.per_call(outcome.calls)})
        print(f"  closed loop {callers:4d} callers: {rate:7.1f} calls/s  p50/p99 {steps[-1]['p50_ms']}/"
              f"{steps[-1]['p99_ms']} ms  errors {outcome.errors or 0}  cpu ms/call {steps[-1]['cpu_ms_per_call']}",
              flush=True)
        eligible = outcome.error_share() < 0.01
        flat = 0 if eligible and rate > best * GROWTH else flat + 1
        if eligible:
            best = max(best, rate)
        callers *= 2
    return {"calls_per_s": round(best, 1), "steps": steps}


# --- open loop: latency at a fixed arrival rate --------------------------------------------------------
async def open_loop(client: httpx.AsyncClient, prepared: list[tuple[bytes, dict[str, str]]],
                    rate: float) -> Outcome:
    """Each call sent at start + i / rate and timed from then, however late the loop sends it."""
    outcome, tasks = Outcome(), []
    start = time.perf_counter() + 0.05
    for i, (raw, headers) in enumerate(prepared):
        at = start + i / rate
        if (wait := at - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.ensure_future(call(client, raw, headers, at, outcome)))
    await asyncio.gather(*tasks)
    outcome.seconds = time.perf_counter() - start
    return outcome


def split(records: list[dict[str, Any]], outcome: Outcome) -> dict[str, Any]:
    """Medians of the hub's records of this level's answered calls, ms."""
    mine = [r for r in records if r["message_id"] in outcome.ids and r["succeeded"]]
    def median(values: list[float]) -> float | None:
        return round(statistics.median(values) * 1000, 2) if values else None
    edge = [r["request_out_at"] - r["request_in_at"] for r in mine]
    round_trip = [r["response_in_at"] - r["request_out_at"] for r in mine]
    back = [r["response_out_at"] - r["response_in_at"] for r in mine]
    hub = statistics.median(outcome.hub_ms) if outcome.hub_ms else None
    client = statistics.median(outcome.latencies) * 1000 if outcome.latencies else None
    return {"records": len(mine), "edge_ms": median(edge), "provider_round_ms": median(round_trip),
            "reply_back_ms": median(back), "hub_ms": round(hub, 2) if hub is not None else None,
            "outside_hub_ms": round(client - hub, 2) if hub is not None else None}


async def load_levels(client: httpx.AsyncClient, hub: Hub, requests: Requests, peak_rate: float, seconds: float,
                      floor_p50_ms: float, cpu: CpuTime) -> list[dict[str, Any]]:
    levels = []
    for share in LOADS:
        rate = peak_rate * share
        prepared = [requests.next() for _ in range(max(1, round(rate * seconds)))]
        cpu.restart()
        outcome = await open_loop(client, prepared, rate)
        spent = cpu.per_call(outcome.calls)
        at = quantiles(outcome.latencies)
        level = {"load": share, "target_calls_per_s": round(rate, 1),
                 "answered_per_s": round(len(outcome.latencies) / outcome.seconds, 1), "calls": outcome.calls,
                 "errors": outcome.errors, "error_share": round(outcome.error_share(), 4), **at,
                 "p50_over_floor": _over(at["p50_ms"], floor_p50_ms), "p99_over_floor": _over(at["p99_ms"], floor_p50_ms),
                 "split": split(await asyncio.to_thread(hub.calls), outcome), "cpu_ms_per_call": spent}
        print(f"  open loop {share:.0%} = {rate:6.1f} calls/s: p50/p99 {at['p50_ms']}/{at['p99_ms']} ms  "
              f"errors {outcome.errors or 0}\n    split {level['split']}\n    cpu ms/call {spent}", flush=True)
        levels.append(level)
    return levels


def _over(ms: float | None, floor_ms: float) -> float | None:
    return None if ms is None else round(ms / floor_ms)


# --- one broker ----------------------------------------------------------------------------------------
def measure(broker: str, args: argparse.Namespace, the_floor: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"lgsp-services-{broker}-") as scratch:
        hub = Hub(broker, Path(scratch)).start()
        provider = None
        try:
            credential = hub.register_caller()
            provider = Provider(hub.url).start()
            hub.wait_running(PROVIDER)
            cpu = CpuTime(hub.process.pid, provider.pid)
            result = asyncio.run(drive(hub, credential, args, the_floor["handler"]["p50_ms"], cpu))
        finally:
            stub = provider.stop() if provider else None
            hub.stop()
    return {**result, "provider": stub}


async def drive(hub: Hub, credential: Credential, args: argparse.Namespace, floor_p50_ms: float,
                cpu: CpuTime) -> dict[str, Any]:
    requests = Requests(credential, Population(SEED, CITIZENS))
    limits = httpx.Limits(max_connections=MAX_CALLERS, max_keepalive_connections=MAX_CALLERS)
    cpu.restart()
    await asyncio.sleep(IDLE_SECONDS)  # what the hub and the provider spend with no call: heartbeats, refreshes
    idle = cpu.percent(IDLE_SECONDS)
    print(f"  idle cpu % {idle}", flush=True)
    async with httpx.AsyncClient(base_url=hub.url, limits=limits, timeout=CLIENT_TIMEOUT) as client:
        found = await peak(client, requests, args.step_seconds, cpu)
        levels = await load_levels(client, hub, requests, found["calls_per_s"], args.seconds, floor_p50_ms, cpu)
    return {"idle_cpu_percent": idle, "peak": found, "one_caller": found["steps"][0], "levels": levels}


def table(runs: dict[str, Any], the_floor: dict[str, Any]) -> str:
    handler = the_floor["handler"]
    rows = [f"floor (handler in-process): p50 {handler['p50_ms']} ms, p99 {handler['p99_ms']} ms",
            f"{'broker':7} {'load':>5} {'calls/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'p50/floor':>9} "
            f"{'p99/floor':>9} {'errors':>7}  split edge/provider/back/outside ms"]
    for broker, run in runs.items():
        one = run["one_caller"]
        rows.append(f"{broker:7} {'1 cl.':>5} {one['calls_per_s']:8.1f} {one['p50_ms']:8.2f} {one['p99_ms']:8.2f}")
        rows.append(f"{broker:7} {'peak':>5} {run['peak']['calls_per_s']:8.1f}")
        for level in run["levels"]:
            s = level["split"]
            rows.append(f"{broker:7} {level['load']:5.0%} {level['answered_per_s']:8.1f} {level['p50_ms']:8.2f} "
                        f"{level['p99_ms']:8.2f} {level['p50_over_floor']:9} {level['p99_over_floor']:9} "
                        f"{level['error_share']:7.2%}  {s['edge_ms']}/{s['provider_round_ms']}/"
                        f"{s['reply_back_ms']}/{s['outside_hub_ms']}")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--brokers", default="kafka", help="kafka, tansu or kafka,tansu")
    parser.add_argument("--seconds", type=float, default=30.0, help="Each open-loop level.")
    parser.add_argument("--step-seconds", type=float, default=5.0, help="Each closed-loop step.")
    parser.add_argument("--out", type=Path, default=RESULTS / "services.json")
    args = parser.parse_args()
    brokers = [b.strip() for b in args.brokers.split(",") if b.strip()]
    if not set(brokers) <= {"kafka", "tansu"}:
        raise SystemExit(f"--brokers: kafka and/or tansu, not {args.brokers!r}")
    stop_on_sigterm()
    started, at_start = datetime.now(timezone.utc), machine()
    the_floor = floor(Population(SEED, CITIZENS))  # first, while no broker runs
    print(f"floor: handler {the_floor['handler']}, verify alone {the_floor['verify_only']}", flush=True)
    runs = {}
    for broker in brokers:
        print(f"{broker}:", flush=True)
        runs[broker] = measure(broker, args, the_floor)
    write_results(args.out, {"machine": at_start, "started": started.isoformat(timespec="seconds"),
                             "command": " ".join([Path(sys.executable).name, *sys.argv]),
                             "seconds": args.seconds, "step_seconds": args.step_seconds,
                             "citizens": CITIZENS, "floor": the_floor, "runs": runs, **ended(started)})
    print(table(runs, the_floor))


if __name__ == "__main__":
    main()
