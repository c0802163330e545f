"""The simulated province running: the bundled connectors on one scenario, one seed and one clock (the dossier
system, the population database, NDXP, and the agencies' e-offices when the scenario has documents)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, time

from hub.control.registration import LocalRegistrar
from hub.core.clock import VN_TZ
from hub.core.inventory import System
from hub.sdk import Connector
from province.agreements import agreements
from province.clock import SimClock
from province.connectors.dossier_system.connector import DossierSystem
from province.connectors.eoffice.exchange import DocumentExchange
from province.connectors.eoffice.office import SYSTEM as E_OFFICE
from province.connectors.ndxp.connector import NationalPlatform
from province.connectors.population_db.connector import PopulationDatabase
from province.connectors.population_db.population import Population
from province.scenario import Outage, Scenario

DAY_START = time(6, 0)  # the simulation opens at dawn of the scenario's first day


class Simulation:
    def __init__(self, scenario: Scenario, seed: int, speed: float, volume: float = 1.0, days: int | None = None,
                 population_size: int = 200_000, verify_latency: float = 0.0, verify_failure_rate: float = 0.0,
                 heartbeat_seconds: float = 5.0, keep_records: bool = False) -> None:
        """`keep_records`: every event's id, receipts and completions, for tests and benches to compare."""
        self.scenario = scenario
        self.clock = SimClock(datetime.combine(scenario.calendar.start, DAY_START, VN_TZ), speed)
        population = Population(seed, population_size, home_province=scenario.province.code)
        self.population_db = PopulationDatabase(population, verify_latency, verify_failure_rate, seed)
        self.ndxp = NationalPlatform(keep_records)
        self.dossier_system = DossierSystem(scenario, self.clock, population, seed, volume, days,
                                            keep_records=keep_records)
        # The agencies' e-offices, when the scenario has official documents between them.
        self.documents = DocumentExchange(scenario, self.clock, seed, volume, days) if scenario.documents else None
        modelled = {self.dossier_system.connector.id, *([E_OFFICE] if self.documents else [])}
        # The scenario's other connected systems: adapters that keep their link alive with heartbeats.
        self.adapters = [system_adapter(s, heartbeat_seconds) for s in scenario.systems
                         if s.connected and s.id not in modelled]
        for connector in self.connectors:
            connector.heartbeat_seconds = heartbeat_seconds
        self._tasks: list[asyncio.Task] = []

    @property
    def connectors(self) -> list[Connector]:
        offices = self.documents.connectors if self.documents else []
        return [self.population_db.connector, self.ndxp.connector, self.dossier_system.connector, *offices,
                *self.adapters]

    async def start(self, registrar: LocalRegistrar) -> None:
        """Connectors first, then the traffic, once the data-sharing agreements are in force (the KPI
        subscriber, a party to one, registers after the guests have started)."""
        await asyncio.gather(*(connector.start(registrar) for connector in self.connectors))
        self.traffic = asyncio.create_task(self._run(registrar), name="dossiers")
        by_id = {connector.id: connector for connector in self.connectors}
        self._tasks = [self.traffic] + [asyncio.create_task(self._outage(by_id[o.connector], o), name="outage")
                                        for o in self.scenario.outages if o.connector in by_id]

    async def _run(self, registrar: LocalRegistrar) -> None:
        await registrar.agree(agreements())
        if self.documents:  # beside the dossiers, not part of `traffic`: the documents wait for the API to listen
            self._tasks.append(asyncio.create_task(self.documents.run(), name="documents"))
        await self.dossier_system.run()

    async def _outage(self, connector: Connector, outage: Outage) -> None:
        """Down like a remote system fails: no reading, no heartbeats; its messages wait in its inbox."""
        start, end = outage.window(self.scenario.calendar.start)
        await self.clock.sleep_until(start)
        connector.reachable = False
        await self.clock.sleep_until(end)
        connector.reachable = True

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        # Together: each may wait on a broker that is gone, and one after another they would add up.
        await asyncio.gather(*(connector.stop() for connector in self.connectors), return_exceptions=True)


def system_adapter(system: System, heartbeat_seconds: float) -> Connector:
    """A province system already linked to the LGSP whose traffic the simulation does not model."""
    return Connector(system.id, name=system.name, agency=system.owner, level=system.level, systems=[system.id],
                     heartbeat_seconds=heartbeat_seconds)
