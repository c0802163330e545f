"""Processes that work beside the hub: a connector of one's own, a router worker (the log indexer: hub.cli.log_indexer)."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated

import typer

from hub.cli.common import setup_logging
from hub.settings import Settings

connector_app = typer.Typer(help="Run connectors.", no_args_is_help=True)


@connector_app.command("run")
def connector_run(
    target: Annotated[str, typer.Argument(help="module:object, a hub.sdk.Connector (or a callable making one).")],
    hub: Annotated[str, typer.Option(help="Hub URL.")] = "http://127.0.0.1:8080",
    log_level: str = "info",
) -> None:
    """Run one connector in its own process until Ctrl-C: register, handle, heartbeat."""
    setup_logging(log_level)
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


def router(log_level: str = "info") -> None:
    """Run one router worker alone (needs KAFKA_BOOTSTRAP_SERVERS and the hub's LGSP_DATABASE_URL)."""
    settings = Settings()
    if not settings.kafka_bootstrap_servers:
        raise typer.BadParameter("set KAFKA_BOOTSTRAP_SERVERS: a router worker joins an existing cluster")
    setup_logging(log_level)
    asyncio.run(_run_router(settings))


async def _run_router(settings: Settings) -> None:
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

    worker = Router(settings.cluster_link, catalog, settings)
    await worker.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(worker.stop()))
    refresh = asyncio.create_task(catalog.refresh_forever(settings.refresh_seconds))
    logging.getLogger("hub.bus.router").info("router worker started (group %s)", settings.topics.router_group)
    try:
        await worker.run()
    finally:
        refresh.cancel()
        catalog.store.close()
