"""The `lgsp-hub` command."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from hub.settings import Settings

app = typer.Typer(help="LGSP provincial integration hub.", no_args_is_help=True, add_completion=False)


def _logging(level: str) -> None:
    from hub import log_bursts, logs

    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logs.install()  # no citizen's ID in any log line
    log_bursts.install()  # a broker gone does not flood the log


@app.command()
def up(
    scenario: Annotated[str | None, typer.Option(help="Scenario name or TOML path (LGSP_SCENARIO).")] = None,
    speed: Annotated[float | None, typer.Option(help="Simulated seconds per real second (LGSP_SPEED).")] = None,
    host: Annotated[str | None, typer.Option(help="Listen address (LGSP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (LGSP_PORT).")] = None,
    log_level: str = "warning",
) -> None:
    """Start the hub: its broker (Apache Kafka unless LGSP_BROKER or KAFKA_BOOTSTRAP_SERVERS say otherwise),
    router, API and the province."""
    from hub.bus.brokers import local_broker
    from hub.bus.brokers.kafka import BrokerUnavailable, find_java, install, installed
    from hub.control.api import create_app, operator_token
    from province.scenario import load_scenario

    given = {"scenario": scenario, "speed": speed, "host": host, "port": port}
    settings = Settings(**{k: v for k, v in given.items() if v is not None})
    _logging(log_level)
    province = load_scenario(settings.scenario)
    broker = local_broker(settings)
    if broker is not None and broker.kind == "kafka":
        try:  # before anything starts: a missing Java or Maven is named at once
            find_java()
            if not installed(broker.cache_dir, broker.version):
                typer.echo(f"fetching Apache Kafka {broker.version} from Maven Central into {broker.cache_dir} (once)")
                install(broker.cache_dir, broker.version)
        except BrokerUnavailable as exc:
            raise typer.Exit(_fail(str(exc))) from exc
    stubs = "mot-cua (dossier system), csdl-dan-cu (population database), ndxp (national platform)"
    typer.echo(
        f"lgsp-hub  http://{settings.host}:{settings.port}   API docs /docs   health /v1/health\n"
        f"  broker      {_broker_line(settings, broker)}\n"
        f"  topics      {settings.topic_prefix}.* ({settings.partitions} partitions, kept "
        f"{settings.retention_ms / 3_600_000:g} h / {settings.retention_bytes >> 20} MiB a partition)\n"
        f"  store       {settings.database_url}\n"
        f"  scenario    {settings.scenario}: {province.province.name}, "
        f"{province.traffic.dossiers_per_day * settings.volume:.0f} dossiers per working day\n"
        f"  clock       ×{settings.speed:g} (one simulated day every {86400 / settings.speed:.0f} s), "
        f"from {province.calendar.start}\n"
        f"  connectors  {stubs if settings.stubs else 'none bundled (LGSP_STUBS=false)'}\n"
        f"  operator    {_token_line(settings, operator_token)}\n"
        f"Ctrl-C stops the hub{' and its broker' if broker else ''}.")
    from hub import logs

    _serve(uvicorn.Config(create_app(settings), host=settings.host, port=settings.port, log_level=log_level,
                          log_config=logs.uvicorn_config(), timeout_graceful_shutdown=2))


def _serve(config: uvicorn.Config) -> None:
    """uvicorn's run with an end in bounded time: asyncio.run would wait for every task to finish its
    cancellation, and a Kafka client retrying a broker that died first may never finish it."""
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(uvicorn.Server(config).serve())
    except KeyboardInterrupt:
        pass  # uvicorn raises the Ctrl-C it handled again once it has shut down
    finally:
        _close(loop)


def _close(loop: asyncio.AbstractEventLoop, seconds: float = 2.0) -> None:
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        _, stuck = loop.run_until_complete(asyncio.wait(pending, timeout=seconds))
        if stuck:
            logging.getLogger("hub").warning("stopped; %d client tasks still retrying a broker that is gone are "
                                             "not waited for", len(stuck))
            logging.shutdown()
            sys.stdout.flush()
            os._exit(0)
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()


def _broker_line(settings: Settings, broker) -> str:
    guarantee = "at-least-once" + (", idempotent producers" if settings.idempotence else "")
    if broker is None:
        return f"{settings.broker} cluster at {settings.kafka_bootstrap_servers}, {guarantee}"
    if broker.kind == "tansu":
        return f"tansu ({broker.version}), run by the hub, in memory: for short runs; {guarantee}"
    return f"Apache Kafka {broker.version}, run by the hub (data in {settings.kafka_data_dir}), {guarantee}"


def _token_line(settings: Settings, issue) -> str:
    if settings.operator_token is not None:
        return "token from LGSP_OPERATOR_TOKEN"
    return f"token {issue(settings)} (this run only; set LGSP_OPERATOR_TOKEN to choose it)"


@app.command()
def connectors(hub: Annotated[str, typer.Option(help="Hub URL.")] = "http://127.0.0.1:8080") -> None:
    """List the registered connectors with their status."""
    import httpx
    from rich.console import Console
    from rich.table import Table

    try:
        listing = httpx.get(f"{hub}/v1/connectors", params={"expand": "status"}, timeout=10).json()
        info = httpx.get(f"{hub}/v1/connectors", params={"expand": "info"}, timeout=10).json()
    except httpx.HTTPError as exc:
        raise typer.Exit(_fail(f"cannot reach the hub at {hub}: {exc}")) from exc
    table = Table("id", "level", "state", "heartbeat", "inbox lag", "handled", "failed", "last error")
    for connector_id, entry in listing.items():
        status, spec = entry["status"], info[connector_id]["info"]
        beat = status["last_heartbeat"]
        age = f"{time.time() - beat:.0f} s ago" if beat else "never"
        table.add_row(connector_id, spec["level"], status["state"], age, str(status["inbox_lag"]),
                      str(status["handled"]), str(status["failed"]), status["last_error"] or "")
    Console().print(table)


@app.command()
def kpi(hub: Annotated[str, typer.Option(help="Hub URL.")] = "http://127.0.0.1:8080") -> None:
    """The province's indicators against their targets, as tables."""
    from rich.console import Console

    from hub.operator.report import indicator_tables

    try:
        connectivity = httpx_get(f"{hub}/v1/kpi/connectivity")
        dossiers = httpx_get(f"{hub}/v1/kpi/dossiers")
    except OSError as exc:
        raise typer.Exit(_fail(f"cannot reach the hub at {hub}: {exc}")) from exc
    console = Console()
    for table in indicator_tables(connectivity, dossiers):
        console.print(table)


@app.command()
def report(
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
    hub: Annotated[str, typer.Option(help="Hub URL.")] = "http://127.0.0.1:8080",
) -> None:
    """Write a self-contained HTML report with charts of the indicators over the simulated period."""
    from hub.operator.report import render_report

    try:
        data = {name: httpx_get(f"{hub}{path}") for name, path in (
            ("connectivity", "/v1/kpi/connectivity"), ("history", "/v1/kpi/connectivity/history"),
            ("dossiers", "/v1/kpi/dossiers"))}
    except OSError as exc:
        raise typer.Exit(_fail(f"cannot reach the hub at {hub}: {exc}")) from exc
    out.write_text(render_report(**data), encoding="utf-8")
    typer.echo(f"report written to {out}")


@app.command("record")
def record_command(
    out: Annotated[Path, typer.Option(help="Fixture file to write (JSON Lines).")],
    hub: Annotated[str, typer.Option(help="Hub URL.")] = "http://127.0.0.1:8080",
    types: Annotated[list[str] | None, typer.Option("--types", help="Keep only these message types.")] = None,
    duration: Annotated[float | None, typer.Option(help="Seconds to record.")] = None,
    count: Annotated[int | None, typer.Option(help="Messages to record.")] = None,
) -> None:
    """Tap a running hub and write what entered it, and what became of each message, as a fixture."""
    from rich.progress import Progress

    from hub.testing.session import HubLink, record

    if duration is None and count is None:
        raise typer.BadParameter("give --duration or --count")
    import httpx

    with Progress(transient=True) as bar:
        task = bar.add_task("recording", total=count)
        try:
            fixture = asyncio.run(record(HubLink(hub), set(types or []) or None, duration, count,
                                         progress=lambda n: bar.advance(task, n)))
        except httpx.HTTPError as exc:
            raise typer.Exit(_fail(f"cannot reach the hub at {hub}: {exc}")) from exc
    fixture.write(out)
    typer.echo(f"{len(fixture.messages)} messages written to {out}")
    unseen = sum(1 for m in fixture.messages if not m.outcome.known)
    if unseen:
        typer.echo(f"warning: the outcome of {unseen} messages was not seen (not on the wire, not in the hub's "
                   "message log: give LGSP_OPERATOR_TOKEN to read it); a replay leaves them unchecked", err=True)


@app.command("replay")
def replay_command(
    fixture_file: Annotated[Path, typer.Argument(help="A fixture written by `lgsp-hub record`.")],
    speed: Annotated[str, typer.Option(help="'real' (recorded timing), a factor N, or 'max'.")] = "max",
    check: Annotated[bool, typer.Option(help="Compare outcomes with the recorded ones; exit 1 on a difference.")]
    = False,
    hub: Annotated[str | None, typer.Option(help="Replay against this running hub.")] = None,
    embedded: Annotated[bool, typer.Option(
        help="Replay against an ephemeral hub in this process, on a broker of its own (LGSP_BROKER).")] = False,
) -> None:
    """Replay a fixture against a hub and report (and with --check, compare) every outcome."""
    from rich.progress import Progress

    from hub.testing.format import Fixture

    if (hub is None) == (not embedded):
        raise typer.BadParameter("give exactly one of --hub URL or --embedded")
    factor = {"real": 1.0, "max": None}.get(speed)
    if speed not in ("real", "max"):
        try:
            factor = float(speed)
        except ValueError as exc:
            raise typer.BadParameter("--speed is 'real', 'max' or a number") from exc
    fixture = Fixture.read(fixture_file)
    with Progress(transient=True) as bar:
        task = bar.add_task("replaying", total=len(fixture.messages))
        result = asyncio.run(_replay(fixture, hub, factor, lambda n: bar.advance(task, n)))
    summary = result.summary()
    typer.echo("  ".join(f"{name} {value}" for name, value in summary.items()))
    if check and result.mismatched:
        typer.echo(result.diff(), err=True)
        raise typer.Exit(1)


async def _replay(fixture, hub_url: str | None, speed: float | None, progress):
    from hub.testing.session import HubLink, replay

    if hub_url:
        link = HubLink(hub_url)
        return await replay(fixture, await link.broker(), link.register, speed, progress=progress)
    import tempfile

    from hub.control.runtime import Hub
    from hub.sdk import LocalRegistrar

    with tempfile.TemporaryDirectory() as scratch:
        # Its own broker, even when KAFKA_BOOTSTRAP_SERVERS points at a cluster.
        embedded = Hub(Settings(database_url=f"sqlite:///{scratch}/hub.db", stubs=False,
                                kafka_bootstrap_servers=None, kafka_data_dir=Path(scratch) / "kafka"))
        await embedded.start()
        try:
            return await replay(fixture, embedded.link, LocalRegistrar(embedded).register,
                                speed, progress=progress)
        finally:
            await embedded.stop()


def httpx_get(url: str) -> dict:
    import httpx

    try:
        response = httpx.get(url, timeout=10)
    except httpx.HTTPError as exc:
        raise OSError(str(exc)) from exc
    response.raise_for_status()
    return response.json()


audit_app = typer.Typer(help="The hash-chained message log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check every chain of the message log in the store (LGSP_DATABASE_URL); name the first broken record."""
    from hub.audit.message_log import verify
    from hub.store import Store

    store = Store(Settings().database_url)
    try:
        verdict = verify(store)
    finally:
        store.close()
    if verdict.ok:
        typer.echo(f"message log intact: {verdict.checked} records verified")
        return
    broken = verdict.broken
    typer.echo(f"message log BROKEN at record seq={broken['seq']} (message {broken['message_id']}): "
               f"{broken['why']}; {verdict.checked} records before it verified", err=True)
    raise typer.Exit(1)


@audit_app.command("prune")
def audit_prune(
    days: Annotated[float | None, typer.Option(help="Keep this many days (default LGSP_LOG_RETENTION_DAYS).")] = None,
) -> None:
    """Delete message log records older than the retention now; each chain keeps an anchor, so it still verifies."""
    from hub.audit.message_log import prune
    from hub.store import Store

    settings = Settings()
    store = Store(settings.database_url)
    try:
        removed = prune(store, settings.log_retention_days if days is None else days)
    finally:
        store.close()
    typer.echo(f"message log: {removed} records pruned")


connector_app = typer.Typer(help="Run connectors.", no_args_is_help=True)
app.add_typer(connector_app, name="connector")


@connector_app.command("run")
def connector_run(
    target: Annotated[str, typer.Argument(help="module:object, a hub.sdk.Connector (or a callable making one).")],
    hub: Annotated[str, typer.Option(help="Hub URL.")] = "http://127.0.0.1:8080",
    log_level: str = "info",
) -> None:
    """Run one connector in its own process until Ctrl-C: register, handle, heartbeat."""
    _logging(log_level)
    asyncio.run(_run_connector(_load(target), hub))


def _load(target: str):
    import importlib

    from hub.sdk import Connector

    module_name, _, attribute = target.partition(":")
    if not attribute:
        raise typer.BadParameter("expected module:object", param_hint="TARGET")
    found = getattr(importlib.import_module(module_name), attribute)
    connector = found if isinstance(found, Connector) else found()
    if not isinstance(connector, Connector):
        raise typer.BadParameter(f"{target} is not a hub.sdk.Connector", param_hint="TARGET")
    return connector


async def _run_connector(connector, hub_url: str) -> None:
    from hub.sdk import HttpRegistrar

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await connector.start(HttpRegistrar(hub_url))
    typer.echo(f"connector {connector.id} registered with {hub_url}; Ctrl-C stops it")
    await stop.wait()
    await connector.stop()


def _fail(message: str) -> int:
    typer.echo(message, err=True)
    return 1


@app.command()
def router(log_level: str = "info") -> None:
    """Run one router worker alone (needs KAFKA_BOOTSTRAP_SERVERS and the hub's LGSP_DATABASE_URL)."""
    settings = Settings()
    if not settings.kafka_bootstrap_servers:
        raise typer.BadParameter("set KAFKA_BOOTSTRAP_SERVERS: a router worker joins an existing cluster")
    _logging(log_level)
    asyncio.run(_run_router(settings))


async def _run_router(settings: Settings) -> None:
    from hub.audit.message_log import MessageLog, worker_id
    from hub.bus.catalog import Catalog
    from hub.bus.router import Router
    from hub.core.schemas.registry import SchemaRegistry, bundled_schemas_dir
    from hub.store import Store

    roots = [bundled_schemas_dir(), *([settings.schemas_dir] if settings.schemas_dir else [])]
    catalog = Catalog(Store(settings.database_url), SchemaRegistry.from_dirs(*roots), settings.require_signatures)
    catalog.reload()
    if settings.router_metrics_port:  # a worker's routing counters live in its own process
        from prometheus_client import start_http_server

        start_http_server(settings.router_metrics_port)
    message_log = MessageLog(catalog.store, worker_id(), settings=settings)
    await message_log.start()
    from hub.bus.topics import BrokerLink

    link = BrokerLink(settings.kafka_bootstrap_servers, settings.topics, settings.idempotence)
    worker = Router(link, catalog, settings, message_log)
    await worker.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(worker.stop()))
    refresh = asyncio.create_task(catalog.refresh_forever(settings.refresh_seconds))
    logging.getLogger("hub.bus.router").info("router worker started (group %s)", settings.topics.router_group)
    try:
        await worker.run()
    finally:
        await message_log.stop()
        refresh.cancel()
        catalog.store.close()


kafka_app = typer.Typer(help="The hub's own Apache Kafka (jars from Maven Central, one KRaft node).",
                        no_args_is_help=True)
app.add_typer(kafka_app, name="kafka")


@kafka_app.command("start")
def kafka_start(
    port: Annotated[int, typer.Option(help="Client port (LGSP_KAFKA_PORT).")] = 9092,
) -> None:
    """Fetch (once), format (once) and start Apache Kafka on LGSP_KAFKA_DATA_DIR; it runs on after this returns."""
    from hub.bus.admin import wait_for_broker
    from hub.bus.brokers.kafka import ApacheKafka, BrokerUnavailable

    settings = Settings()
    broker = ApacheKafka(settings.kafka_data_dir, settings.kafka_cache_dir, settings.kafka_port or port,
                         settings.kafka_heap_mb, settings.partitions)
    try:
        broker.start(tied=False)
        asyncio.run(wait_for_broker(broker.bootstrap_servers))
    except (BrokerUnavailable, TimeoutError) as exc:
        raise typer.Exit(_fail(str(exc))) from exc
    typer.echo(f"Apache Kafka {broker.version} at {broker.bootstrap_servers} (pid {broker.pid}, data in "
               f"{broker.data_dir})\nuse it: KAFKA_BOOTSTRAP_SERVERS={broker.bootstrap_servers} lgsp-hub up")


@kafka_app.command("status")
def kafka_status() -> None:
    """Whether Apache Kafka runs on LGSP_KAFKA_DATA_DIR, where, and which version (exit 1 when not)."""
    from hub.bus.brokers.kafka import read_state

    settings = Settings()
    state = read_state(settings.kafka_data_dir)
    if state is None:
        raise typer.Exit(_fail(f"Apache Kafka is not running on {settings.kafka_data_dir.resolve()}"))
    typer.echo(f"Apache Kafka {state['version']} at {state['bootstrap_servers']} (pid {state['pid']})")


@kafka_app.command("stop")
def kafka_stop() -> None:
    """Stop the Apache Kafka running on LGSP_KAFKA_DATA_DIR (SIGTERM, SIGKILL after 15 s)."""
    from hub.bus.brokers.kafka import clear_state, read_state, stop_pid

    settings = Settings()
    state = read_state(settings.kafka_data_dir)
    if state is None:
        typer.echo(f"Apache Kafka is not running on {settings.kafka_data_dir.resolve()}")
        return
    stop_pid(state["pid"])
    clear_state(settings.kafka_data_dir)
    typer.echo(f"Apache Kafka (pid {state['pid']}) stopped")
