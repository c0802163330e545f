"""The hub's own Apache Kafka on its own: start, status, stop."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from hub.cli.common import fail
from hub.settings import Settings

app = typer.Typer(help="The hub's own Apache Kafka (jars from Maven Central, one KRaft node).",
                        no_args_is_help=True)


@app.command("start")
def kafka_start(
    port: Annotated[int, typer.Option(help="Client port (LGSP_KAFKA_PORT).")] = 9092,
) -> None:
    """Fetch (once), format (once) and start Apache Kafka on LGSP_KAFKA_DATA_DIR; it runs on after this returns."""
    from hub.bus.admin import wait_for_broker
    from hub.bus.brokers.kafka import ADMIN_FILE, ApacheKafka, BrokerUnavailable
    from hub.bus.topics import BrokerLink

    settings = Settings()
    broker = ApacheKafka(settings.kafka_data_dir, settings.kafka_cache_dir, settings.kafka_port or port,
                         settings.kafka_heap_mb, settings.partitions)
    try:
        broker.start(tied=False)
        asyncio.run(wait_for_broker(BrokerLink(broker.bootstrap_servers, settings.topics, login=broker.admin_login)))
    except (BrokerUnavailable, TimeoutError) as exc:
        raise typer.Exit(fail(str(exc))) from exc
    typer.echo(f"Apache Kafka {broker.version} at {broker.bootstrap_servers} (pid {broker.pid}, data in "
               f"{broker.data_dir}), SASL/SCRAM-SHA-512 with ACLs; the admin's password is in "
               f"{broker.data_dir / ADMIN_FILE}\nuse it: KAFKA_BOOTSTRAP_SERVERS={broker.bootstrap_servers} "
               f"KAFKA_SASL_USERNAME=admin KAFKA_SASL_PASSWORD=... lgsp-hub up")


@app.command("status")
def kafka_status() -> None:
    """Whether Apache Kafka runs on LGSP_KAFKA_DATA_DIR, where, and which version (exit 1 when not)."""
    from hub.bus.brokers.kafka import read_state

    settings = Settings()
    state = read_state(settings.kafka_data_dir)
    if state is None:
        raise typer.Exit(fail(f"Apache Kafka is not running on {settings.kafka_data_dir.resolve()}"))
    typer.echo(f"Apache Kafka {state['version']} at {state['bootstrap_servers']} (pid {state['pid']})")


@app.command("stop")
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
