"""`lgsp-hub sign`: the seal of a body for an HTTP client without the SDK (curl), as three header lines.

The seal is made now: send it within LGSP_SIGNATURE_MAX_AGE_SECONDS (five minutes by default), and once."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from hub.cli.common import fail
from hub.core.credentials import Credential


def sign(body: Annotated[Path | None, typer.Argument(help="The exact body to send (default: standard input).")] = None,
         credential: Annotated[str, typer.Option(envvar="LGSP_CONNECTOR_CREDENTIAL", show_envvar=True,
                                                 help="The credential, id:algorithm:secret.")] = "") -> None:
    """Print the LGSP-Credential, LGSP-Signature and LGSP-Signed-At headers of a body, signed now (for
    `curl -H @file`)."""
    try:
        signer = Credential.parse(credential)
    except ValueError as exc:
        raise typer.Exit(fail(f"--credential: {exc}")) from None
    raw = body.read_bytes() if body is not None else sys.stdin.buffer.read()
    for name, value in signer.http_headers(raw).items():
        typer.echo(f"{name}: {value}")
