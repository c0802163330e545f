"""`lgsp-hub up`: the hub and the simulated province in one process, on the province's clock.

Added to the `lgsp-hub` command through the `lgsp_hub.commands` entry point: the province uses the hub,
never the other way round.
"""

from __future__ import annotations

import itertools
from typing import Annotated

import typer

from hub.cli.common import setup_logging
from hub.cli.serve import prepare_broker, run_app, summary
from hub.control.api import create_app
from hub.control.runtime import Hub
from province.connectors.dossier_system.connector import applicant
from province.runner import Simulation
from province.scenario import load_scenario
from province.settings import ProvinceSettings, hub_settings

STUBS = ("mot-cua (dossier system), csdl-dan-cu (population database), ndxp (national platform), vpdt-* (the "
         "agencies' e-offices, when the scenario has documents)")


def up(
    scenario: Annotated[str | None, typer.Option(help="Scenario name or TOML path (LGSP_SCENARIO).")] = None,
    speed: Annotated[float | None, typer.Option(help="Simulated seconds per real second (LGSP_SPEED).")] = None,
    host: Annotated[str | None, typer.Option(help="Listen address (LGSP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (LGSP_PORT).")] = None,
    log_level: str = "warning",
) -> None:
    """Start the hub (its broker: Apache Kafka unless LGSP_BROKER or KAFKA_BOOTSTRAP_SERVERS say otherwise,
    router, API) with the simulated province: its inventory, its clock and its connectors."""
    given = ProvinceSettings(**{k: v for k, v in {"scenario": scenario, "speed": speed}.items() if v is not None})
    settings = hub_settings(given, **{k: v for k, v in {"host": host, "port": port}.items() if v is not None})
    setup_logging(log_level)
    plan = load_scenario(given.scenario)
    broker = prepare_broker(settings)
    if given.stubs:
        simulation = Simulation(plan, given.seed, given.speed, given.volume)
        clock, guests = simulation.clock, [simulation]
    else:  # the province's inventory, its connectors elsewhere (each with a clock of its own): real time here
        clock, guests = None, []
    typer.echo(summary(settings, broker, [
        f"  scenario    {given.scenario}: {plan.province.name}, "
        f"{plan.traffic.dossiers_per_day * given.volume:.0f} dossiers per working day"
        + (f", {plan.documents.per_day * given.volume:.0f} documents between {len(plan.documents.agencies)} "
           "agencies' e-offices" if plan.documents else ""),
        f"  clock       ×{given.speed:g} (one simulated day every {86400 / given.speed:.0f} s), "
        f"from {plan.calendar.start}",
        f"  connectors  {STUBS if given.stubs else 'none bundled (LGSP_STUBS=false)'}"]))
    hub = Hub(settings, with_router=settings.router, inventory=plan, clock=clock, guests=guests)
    run_app(create_app(settings, hub), settings, log_level)


def applicants(
    scenario: Annotated[str | None, typer.Option(help="Scenario name or TOML path (LGSP_SCENARIO).")] = None,
    count: Annotated[int, typer.Option(min=1, help="How many, from the first dossier on.")] = 5,
) -> None:
    """The simulated citizens who file the province's first dossiers (from LGSP_SEED): personal IDs to ask
    `lgsp-hub disclosures` about once `lgsp-hub up` has run a while."""
    given = ProvinceSettings(**({"scenario": scenario} if scenario else {}))
    simulation = Simulation(load_scenario(given.scenario), given.seed, given.speed, given.volume)
    system = simulation.dossier_system
    for plan in itertools.islice(system.planner.days(count=366), count):
        chu = applicant(system.population, plan)
        typer.echo(f"{chu['SoDinhDanh']}  {chu['HoVaTen']}  dossier {plan.code}, received {plan.received_at:%Y-%m-%d %H:%M}")
