"""The `lgsp-hub` command."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated

import typer
import uvicorn

from hub.settings import Settings

app = typer.Typer(help="LGSP provincial integration hub.", no_args_is_help=True, add_completion=False)


def _logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@app.command()
def up(
    host: Annotated[str | None, typer.Option(help="Listen address (LGSP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (LGSP_PORT).")] = None,
    log_level: str = "info",
) -> None:
    """Start the hub: broker (embedded unless KAFKA_BOOTSTRAP_SERVERS is set), router and API."""
    from hub.api import create_app

    settings = Settings(**{k: v for k, v in {"host": host, "port": port}.items() if v is not None})
    _logging(log_level)
    broker = settings.kafka_bootstrap_servers or "embedded tansu (in memory)"
    typer.echo(f"lgsp-hub on http://{settings.host}:{settings.port}  (API docs /docs, health /v1/health)\n"
               f"  broker: {broker}\n  store:  {settings.database_url}")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=log_level)


@app.command()
def router(log_level: str = "info") -> None:
    """Run one router worker alone (needs KAFKA_BOOTSTRAP_SERVERS and the hub's LGSP_DATABASE_URL)."""
    settings = Settings()
    if not settings.kafka_bootstrap_servers:
        raise typer.BadParameter("set KAFKA_BOOTSTRAP_SERVERS: a router worker joins an existing cluster")
    _logging(log_level)
    asyncio.run(_run_router(settings))


async def _run_router(settings: Settings) -> None:
    from hub.catalog import Catalog
    from hub.router import Router
    from hub.schemas import SchemaRegistry, bundled_schemas_dir
    from hub.store import Store

    roots = [bundled_schemas_dir(), *([settings.schemas_dir] if settings.schemas_dir else [])]
    catalog = Catalog(Store(settings.database_url), SchemaRegistry.from_dirs(*roots))
    catalog.reload()
    worker = Router(settings.kafka_bootstrap_servers, catalog, settings)
    await worker.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(worker.stop()))
    refresh = asyncio.create_task(catalog.refresh_forever(settings.refresh_seconds))
    logging.getLogger("hub.router").info("router worker started (group %s)", settings.router_group)
    try:
        await worker.run()
    finally:
        refresh.cancel()
        catalog.store.close()
