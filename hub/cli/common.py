"""What every command shares: logging, errors on stderr, reading the hub's JSON."""

from __future__ import annotations

import logging

import typer


def setup_logging(level: str) -> None:
    from hub import log_bursts, logs

    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logs.install()  # no citizen's ID in any log line
    log_bursts.install()  # a broker gone does not flood the log


def fail(message: str) -> int:
    typer.echo(message, err=True)
    return 1


def httpx_get(url: str) -> dict:
    import httpx

    try:
        response = httpx.get(url, timeout=10)
    except httpx.HTTPError as exc:
        raise OSError(str(exc)) from exc
    response.raise_for_status()
    return response.json()
