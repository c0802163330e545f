"""Serving a hub: its broker ready first, a one-screen summary, and a stop in bounded time.

`lgsp-hub serve` runs the hub alone, on the inventory the operator loads; `lgsp-hub up` (the province)
uses the same steps with a simulated province beside it."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from types import FrameType
from typing import Annotated

import typer
import uvicorn

from hub.bus.topics import delivery
from hub.cli.common import fail, setup_logging
from hub.settings import Settings


def serve(
    host: Annotated[str | None, typer.Option(help="Listen address (LGSP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (LGSP_PORT).")] = None,
    log_level: str = "warning",
) -> None:
    """Start the hub alone: its broker (Apache Kafka unless LGSP_BROKER or KAFKA_BOOTSTRAP_SERVERS say otherwise),
    router and API, on the province's inventory (LGSP_INVENTORY, or PUT /v1/inventory)."""
    from hub.control.api import create_app
    from hub.core.inventory import InventoryError, load_inventory

    settings = Settings(**{k: v for k, v in {"host": host, "port": port}.items() if v is not None})
    setup_logging(log_level)
    try:  # before anything starts: a broken inventory is named at once
        if settings.inventory is not None:
            load_inventory(settings.inventory)
    except InventoryError as exc:
        raise typer.Exit(fail(str(exc))) from exc
    broker = prepare_broker(settings)
    inventory = str(settings.inventory) if settings.inventory else "the stored one (none yet: PUT /v1/inventory)"
    typer.echo(summary(settings, broker, [f"  inventory   {inventory}"]))
    run_app(create_app(settings), settings, log_level)


def prepare_broker(settings: Settings):
    """The hub's own broker, its jars fetched before anything starts: a missing Java or Maven is named at once."""
    from hub.bus.brokers import local_broker
    from hub.bus.brokers.kafka import BrokerUnavailable, find_java, install, installed

    broker = local_broker(settings)
    if broker is not None and broker.kind == "kafka":
        try:
            find_java()
            if not installed(broker.cache_dir, broker.version):
                typer.echo(f"fetching Apache Kafka {broker.version} from Maven Central into {broker.cache_dir} (once)")
                install(broker.cache_dir, broker.version)
        except BrokerUnavailable as exc:
            raise typer.Exit(fail(str(exc))) from exc
    return broker


def summary(settings: Settings, broker, extra: list[str]) -> str:
    from hub.control.api import operator_token

    return "\n".join([
        f"lgsp-hub  http://{settings.host}:{settings.port}   API docs /docs   health /v1/health",
        f"  broker      {broker_line(settings, broker)}",
        f"  topics      {settings.topic_prefix}.* ({settings.partitions} partitions, kept "
        f"{settings.retention_ms / 3_600_000:g} h / {settings.retention_bytes >> 20} MiB a partition)",
        f"  store       {settings.database_url}",
        f"  router      {router_line(settings)}",
        *extra,
        f"  operator    {token_line(settings, operator_token)}",
        f"Ctrl-C stops the hub{' and its broker' if broker else ''}."])


def run_app(application, settings: Settings, log_level: str) -> None:
    from hub import logs

    run(uvicorn.Config(application, host=settings.host, port=settings.port, log_level=log_level,
                       log_config=logs.uvicorn_config(), timeout_graceful_shutdown=2))


STOP_SECONDS = 11.0  # from the first Ctrl-C or SIGTERM to the end of the process, however busy its loop


class BoundedServer(uvicorn.Server):
    """uvicorn's server whose first stop signal also starts a clock: each step of the shutdown is bounded,
    but a loop busy with more traffic than the machine carries stretches them all."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.should_exit:
            deadline = threading.Timer(STOP_SECONDS, _exit_now, (sig,))
            deadline.daemon = True  # a clean stop before the deadline ends the process at once
            deadline.start()
        super().handle_exit(sig, frame)


def _exit_now(sig: int) -> None:
    # What this cuts short is transactional (the store, the broker's transactions), and the hub's broker and
    # router workers get SIGTERM from the kernel as this process ends (hub.bus.brokers.process).
    sys.stderr.write(f"lgsp-hub: still stopping {STOP_SECONDS:g} s after the signal; exiting now\n")
    sys.stderr.flush()
    os._exit(128 + sig)


def run(config: uvicorn.Config) -> None:
    """uvicorn's run with an end in bounded time: asyncio.run would wait for every task to finish its
    cancellation, and a Kafka client retrying a broker that died first may never finish it."""
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(BoundedServer(config).serve())
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


def broker_line(settings: Settings, broker) -> str:
    guarantee = f"delivery: {delivery(settings.transactions)}" + (", idempotent producers" if settings.idempotence else "")
    if broker is None:
        return f"{settings.broker} cluster at {settings.kafka_bootstrap_servers}, {guarantee}"
    if broker.kind == "tansu":
        return f"tansu ({broker.version}), run by the hub, in memory: for short runs; {guarantee}"
    return f"Apache Kafka {broker.version}, run by the hub (data in {settings.kafka_data_dir}), {guarantee}"


def router_line(settings: Settings) -> str:
    if not settings.router:
        return "none here: `lgsp-hub router` workers route (LGSP_ROUTER=false)"
    if settings.router_processes:
        return f"{settings.router_processes} worker process{'es' if settings.router_processes > 1 else ''} " \
               "of its own (LGSP_ROUTER_PROCESSES; 0: in the API process)"
    return "in the API process (LGSP_ROUTER_PROCESSES=0)"


def token_line(settings: Settings, issue) -> str:
    if settings.operator_token is not None:
        return "token from LGSP_OPERATOR_TOKEN"
    return f"token {issue(settings)} (this run only; set LGSP_OPERATOR_TOKEN to choose it)"
