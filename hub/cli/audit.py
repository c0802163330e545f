"""The hash-chained message log in the store: verify, prune."""

from __future__ import annotations

from typing import Annotated

import typer

from hub.settings import Settings

app = typer.Typer(help="The hash-chained message log.", no_args_is_help=True)


@app.command("verify")
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


@app.command("prune")
def audit_prune(
    days: Annotated[float | None, typer.Option(help="Keep this many days (default LGSP_LOG_RETENTION_DAYS).")] = None,
) -> None:
    """Delete message log records older than the retention now; each chain keeps an anchor, so it still verifies.
    Attachments uploaded before the same cut-off go too."""
    from hub.audit.message_log import prune
    from hub.store import Store
    from hub.store.attachments import open_attachments

    settings = Settings()
    store = Store(settings.database_url)
    try:
        removed = prune(store, settings.log_retention_days if days is None else days, None,
                        open_attachments(store.engine, settings.attachments_dir))
    finally:
        store.close()
    typer.echo(f"message log: {removed} records pruned")
