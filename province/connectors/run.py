"""The bundled connectors one per process, for `lgsp-hub connector run province.connectors.run:<name>`.

    lgsp-hub connector run province.connectors.run:population_db --hub http://api:8080
    lgsp-hub connector run province.connectors.run:ndxp --hub http://api:8080
    lgsp-hub connector run province.connectors.run:dossier_system --hub http://api:8080
    lgsp-hub connector run province.connectors.run:e_offices --hub http://api:8080

Each process builds the province from the same settings as `lgsp-hub up` (LGSP_SCENARIO, LGSP_SEED,
LGSP_SPEED, LGSP_VOLUME) and keeps its own part of it: the population is computed from the seed, so the
dossier system's applicants are the citizens the population database knows. Once registered, a connector
also runs what drives it in the simulation: the dossier system files the scenario's dossiers (and keeps
the scenario's other connected systems heartbeating, as `lgsp-hub up` does), and every connector goes
down in its outage windows. Each process has its own simulated clock, started with the process: start
them together (docker-compose.yml does) or their simulated times drift apart.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from hub.sdk import Connector
from hub.sdk.registrar import Registrar
from province.runner import Simulation
from province.scenario import load_scenario
from province.settings import ProvinceSettings

Job = Callable[[], Awaitable[object]]


def province() -> Simulation:
    settings = ProvinceSettings()
    return Simulation(load_scenario(settings.scenario), settings.seed, settings.speed, settings.volume)


def population_db() -> Connector:
    """The national population database (csdl-dan-cu): answers citizen verification."""
    living = province()
    return _driven(living, living.population_db.connector)


def ndxp() -> Connector:
    """The national platform (ndxp): takes dossier sync, answers with receipts."""
    living = province()
    return _driven(living, living.ndxp.connector)


def dossier_system() -> Connector:
    """The one-stop dossier system (mot-cua): files the scenario's dossiers on the simulated clock."""
    living = province()
    return _driven(living, living.dossier_system.connector, [living.dossier_system.run], living.adapters)


def e_offices() -> Connector:
    """The agencies' e-offices (vpdt-<agency>): send official documents to each other as edXML, answer statuses."""
    living = province()
    if living.documents is None:
        raise SystemExit(f"scenario {living.scenario.province.name} has no [documents]: no e-office to run")
    first, *others = living.documents.connectors
    return _driven(living, first, [living.documents.run], others)


def _driven(living: Simulation, connector: Connector, jobs: list[Job] | None = None,
            companions: list[Connector] | None = None) -> Connector:
    """`connector`, which once started also starts its companions and runs its jobs and outage windows."""
    jobs = [*(jobs or []), *(lambda o=o: living._outage(connector, o)
                             for o in living.scenario.outages if o.connector == connector.id)]
    companions = companions or []
    tasks: list[asyncio.Task] = []
    start, stop = connector.start, connector.stop

    async def start_driven(registrar: Registrar) -> None:
        await start(registrar)
        await asyncio.gather(*(companion.start(registrar) for companion in companions))
        tasks.extend(asyncio.create_task(job(), name=f"{connector.id}.simulation") for job in jobs)

    async def stop_driven() -> None:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for companion in reversed(companions):
            await companion.stop()
        await stop()

    connector.start, connector.stop = start_driven, stop_driven
    return connector
