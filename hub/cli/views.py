"""What the operator reads from a running hub: connectors, indicators, the HTML report."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from hub.cli.common import fail, httpx_get


def connectors(hub: Annotated[str, typer.Option(help="Hub URL.")] = "http://127.0.0.1:8080") -> None:
    """List the registered connectors with their status."""
    import httpx
    from rich.console import Console
    from rich.table import Table

    try:
        listing = httpx.get(f"{hub}/v1/connectors", params={"expand": "status"}, timeout=10).json()
        info = httpx.get(f"{hub}/v1/connectors", params={"expand": "info"}, timeout=10).json()
    except httpx.HTTPError as exc:
        raise typer.Exit(fail(f"cannot reach the hub at {hub}: {exc}")) from exc
    table = Table("id", "level", "state", "heartbeat", "inbox lag", "handled", "failed", "last error")
    for connector_id, entry in listing.items():
        status, spec = entry["status"], info[connector_id]["info"]
        beat = status["last_heartbeat"]
        age = f"{time.time() - beat:.0f} s ago" if beat else "never"
        table.add_row(connector_id, spec["level"], status["state"], age, str(status["inbox_lag"]),
                      str(status["handled"]), str(status["failed"]), status["last_error"] or "")
    Console().print(table)


def kpi(hub: Annotated[str, typer.Option(help="Hub URL.")] = "http://127.0.0.1:8080") -> None:
    """The province's indicators against their targets, as tables."""
    from rich.console import Console

    from hub.operator.report import indicator_tables

    try:
        connectivity = httpx_get(f"{hub}/v1/kpi/connectivity")
        dossiers = httpx_get(f"{hub}/v1/kpi/dossiers")
        documents = httpx_get(f"{hub}/v1/kpi/documents")
    except OSError as exc:
        raise typer.Exit(fail(f"cannot reach the hub at {hub}: {exc}")) from exc
    console = Console()
    for table in indicator_tables(connectivity, dossiers, documents):
        console.print(table)


def report(
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
    hub: Annotated[str, typer.Option(help="Hub URL.")] = "http://127.0.0.1:8080",
) -> None:
    """Write a self-contained HTML report with charts of the indicators over the simulated period."""
    from hub.operator.report import render_report

    try:
        data = {name: httpx_get(f"{hub}{path}") for name, path in (
            ("connectivity", "/v1/kpi/connectivity"), ("history", "/v1/kpi/connectivity/history"),
            ("dossiers", "/v1/kpi/dossiers"), ("documents", "/v1/kpi/documents"))}
    except OSError as exc:
        raise typer.Exit(fail(f"cannot reach the hub at {hub}: {exc}")) from exc
    out.write_text(render_report(**data), encoding="utf-8")
    typer.echo(f"report written to {out}")
