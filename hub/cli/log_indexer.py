"""`lgsp-hub log-indexer`: the message log built from the decisions topic, in a process of its own.

Several share the decisions partitions through their consumer group (so do API processes running theirs);
each partition's chain is written by one of them at a time.
"""

from __future__ import annotations

import asyncio
import logging
import signal

import typer

from hub.cli.common import setup_logging
from hub.settings import Settings


def log_indexer(log_level: str = "info") -> None:
    """Run one log indexer alone (needs KAFKA_BOOTSTRAP_SERVERS and the hub's LGSP_DATABASE_URL)."""
    settings = Settings()
    if not settings.kafka_bootstrap_servers:
        raise typer.BadParameter("set KAFKA_BOOTSTRAP_SERVERS: a log indexer joins an existing cluster")
    setup_logging(log_level)
    asyncio.run(_run(settings))


async def _run(settings: Settings) -> None:
    from hub.bus.admin import TopicAdmin
    from hub.bus.log_indexer import LogIndexer
    from hub.store import Store

    if settings.log_indexer_metrics_port:  # its lag gauge lives in its own process
        from prometheus_client import start_http_server

        start_http_server(settings.log_indexer_metrics_port)
    link = settings.cluster_link
    admin = TopicAdmin(link, settings)
    await admin.start()
    await admin.ensure([settings.topics.decisions])
    await admin.close()
    store = Store(settings.database_url)
    indexer = LogIndexer(link, store, settings)
    await indexer.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(indexer.stop()))
    logging.getLogger("hub.bus.log_indexer").info("log indexer started (group %s)", settings.topics.log_indexer_group)
    try:
        await indexer.run()
    finally:
        store.close()
