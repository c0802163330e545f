"""Fixtures: record a running hub's traffic, replay it against a hub with a check."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from hub.cli.common import fail
from hub.settings import Settings


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
            raise typer.Exit(fail(f"cannot reach the hub at {hub}: {exc}")) from exc
    fixture.write(out)
    typer.echo(f"{len(fixture.messages)} messages written to {out}")
    unseen = sum(1 for m in fixture.messages if not m.outcome.known)
    if unseen:
        typer.echo(f"warning: the outcome of {unseen} messages was not seen (not on the wire, not in the hub's "
                   "message log: give LGSP_OPERATOR_TOKEN to read it); a replay leaves them unchecked", err=True)


def replay_command(
    fixture_file: Annotated[Path, typer.Argument(help="A fixture written by `lgsp-hub record`.")],
    speed: Annotated[str, typer.Option(help="'real' (recorded timing), a factor N, or 'max'.")] = "max",
    check: Annotated[bool, typer.Option(help="Compare outcomes with the recorded ones; exit 1 on a difference.")]
    = False,
    hub: Annotated[str | None, typer.Option(help="Replay against this running hub.")] = None,
    embedded: Annotated[bool, typer.Option(
        help="Replay against an ephemeral hub in this process, on a broker of its own (LGSP_BROKER), with the "
        "inventory the fixture was recorded with (or the one LGSP_INVENTORY names).")] = False,
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

    from hub.control.registration import LocalRegistrar
    from hub.control.runtime import Hub
    from hub.core.inventory import Inventory

    with tempfile.TemporaryDirectory() as scratch:
        # Its own broker, even when KAFKA_BOOTSTRAP_SERVERS points at a cluster.
        settings = Settings(database_url=f"sqlite:///{scratch}/hub.db", kafka_bootstrap_servers=None,
                            kafka_data_dir=Path(scratch) / "kafka")
        recorded = fixture.inventory if settings.inventory is None else None  # LGSP_INVENTORY wins
        embedded = Hub(settings, inventory=Inventory.model_validate(recorded) if recorded else None)
        await embedded.start()
        try:
            return await replay(fixture, embedded.link, LocalRegistrar(embedded).register,
                                speed, progress=progress)
        finally:
            await embedded.stop()
