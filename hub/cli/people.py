"""A citizen's disclosures from a running hub: a table in the terminal, or the printable page to a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hub.cli.common import fail

Token = typer.Option(envvar="LGSP_OPERATOR_TOKEN", show_envvar=True, help="The hub's operator token.")


def disclosures(
    personal_id: Annotated[str, typer.Argument(help="The citizen's personal ID (12 digits).")],
    html: Annotated[Path | None, typer.Option("--html", help="Also write the printable page to this file.")] = None,
    lang: Annotated[str, typer.Option(help="vi or en.")] = "vi",
    hub: Annotated[str, typer.Option(help="Hub URL.")] = "http://127.0.0.1:8080",
    token: Annotated[str, Token] = "",
    limit: Annotated[int, typer.Option(help="Messages to read, newest first.")] = 1000,
) -> None:
    """Every delivery of a message that carried this personal ID: when, which agency and system, which fields,
    under which agreement, purpose and legal basis."""
    from hub.audit.disclosure_page import render_page

    if lang not in ("vi", "en"):
        raise typer.BadParameter("--lang is vi or en")
    report, agencies = _read(hub, token, personal_id, limit)
    _print(report, lang, agencies)
    if html is not None:
        html.write_text(render_page(report, lang, agencies), encoding="utf-8")
        typer.echo(f"page written to {html}")


def _read(hub: str, token: str, personal_id: str, limit: int) -> tuple[dict, dict[str, str]]:
    """The disclosures (operator token), and the agencies' names where the hub has an inventory."""
    import httpx

    try:
        with httpx.Client(base_url=hub, timeout=30) as client:
            answer = client.get(f"/v1/people/{personal_id}/disclosures", params={"limit": limit},
                                headers={"Authorization": f"Bearer {token}"} if token else {})
            inventory = client.get("/v1/inventory")
    except httpx.HTTPError as exc:
        raise typer.Exit(fail(f"cannot reach the hub at {hub}: {exc}")) from exc
    if answer.status_code != 200:
        raise typer.Exit(fail(f"the hub refused: {answer.status_code} {_message(answer)}"))
    agencies = inventory.json().get("agencies", []) if inventory.status_code == 200 else []
    return answer.json(), {agency["code"]: agency["name"] for agency in agencies}


def _message(answer) -> str:
    try:
        return answer.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return answer.text[:200]


def _print(report: dict, lang: str, agencies: dict[str, str]) -> None:
    from rich.console import Console
    from rich.table import Table

    from hub.audit.disclosure_page import COLUMNS, LABELS, shown_rows

    words = LABELS[lang]
    table = Table(*(words[column] for column in COLUMNS),
                  title=f"{words['title']} — {report['personal_id']}", caption=words["count"].format(
                      rows=len(report["disclosures"]), messages=report["messages"]))
    for row in shown_rows(report, lang, agencies):
        table.add_row(*(row[column] for column in COLUMNS))
    Console().print(table)
