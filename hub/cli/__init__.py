"""The `lgsp-hub` command: one module per group of subcommands.

Packages that run beside the hub (the simulated province's `up`) add commands through the
`lgsp_hub.commands` entry point, so the hub never imports them.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import typer

from hub.cli import audit, fixtures, kafka, people, serve, sign, views, workers

app = typer.Typer(help="LGSP provincial integration hub.", no_args_is_help=True, add_completion=False)
app.command()(serve.serve)
for command in (views.connectors, views.kpi, views.report, people.disclosures, workers.router, sign.sign):
    app.command()(command)
app.command("record")(fixtures.record_command)
app.command("replay")(fixtures.replay_command)
app.add_typer(audit.app, name="audit")
app.add_typer(workers.connector_app, name="connector")
app.add_typer(kafka.app, name="kafka")
for plugin in entry_points(group="lgsp_hub.commands"):
    app.command(plugin.name)(plugin.load())
