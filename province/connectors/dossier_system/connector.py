"""The one-stop dossier system (một cửa điện tử): files the scenario's dossiers on the simulated clock.

For each dossier it asks the population database to verify the applicant, refuses the dossier
(status 3) when that fails, and otherwise walks it through the national status codes, publishing
`dossier.submitted`, `dossier.status_changed` and `dossier.completed`. It counts the NDXP receipts
that come back; with `keep_records` it also keeps every event's id and each one's receipts, for tests and
benches that check each event once (an endless run would hold more of them every hour).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from hub.core.clock import VN_TZ
from hub.core.deadlines import DOSSIER_TYPES
from hub.sdk import Connector, Message, RequestTimeout
from province.clock import SimClock
from province.connectors.dossier_system import lifecycle
from province.connectors.population_db.population import Population
from province.scenario import Scenario
from province.traffic import ApplicantKind, DossierPlanner, PlannedDossier

log = logging.getLogger(__name__)

ID = "mot-cua"
POPULATION_DB = "csdl-dan-cu"
# What the dossier system needs of a verification: the verdict (not which personal details disagreed).
VERIFICATION_FIELDS = ("/MaYeuCau", "/KetQua", "/TonTai", "/KhopDuLieu")


@dataclass
class DossierStats:
    planned: int = 0
    submitted: int = 0
    verified: Counter = field(default_factory=Counter)  # KetQua of each verification reply
    verification_timeouts: int = 0
    refused: int = 0
    completed: int = 0
    planned_late: int = 0
    events: int = 0  # dossier events published
    acknowledged: int = 0  # receipts from NDXP
    receipts: Counter = field(default_factory=Counter)  # envelope id acknowledged → receipts (kept records only)
    receipts_refused: int = 0


class DossierSystem:
    def __init__(self, scenario: Scenario, clock: SimClock, population: Population, seed: int,
                 volume: float = 1.0, days: int | None = None, verify_timeout: float = 30.0,
                 keep_records: bool = False) -> None:
        self.scenario, self.clock, self.population = scenario, clock, population
        self.planner = DossierPlanner(scenario, seed, volume)
        self.days, self.verify_timeout, self.keep_records = days, verify_timeout, keep_records
        self.stats = DossierStats()
        self.published: dict = {}  # envelope id → dossier code, of every dossier event sent (kept records only)
        owner = next((s.owner for s in scenario.systems if s.id == ID), scenario.agencies[0].code)
        self.connector = Connector(ID, name="Hệ thống thông tin giải quyết TTHC (một cửa điện tử)", agency=owner,
                                   systems=[ID], produces=[*DOSSIER_TYPES, "citizen.verify.request"],
                                   expects=["citizen.verify.reply"])
        self.connector.on("ndxp.receipt")(self._on_receipt)
        self._live_dossiers: set[asyncio.Task] = set()

    async def run(self) -> None:
        """File dossiers day after day (for `days` days, then wait until every dossier has ended)."""
        day = self.scenario.calendar.start
        try:
            while self.days is None or (day - self.scenario.calendar.start).days < self.days:
                await self.clock.sleep_until(datetime.combine(day, time(), VN_TZ))
                for plan in self.planner.day(day):
                    task = asyncio.create_task(self._live(plan))
                    self._live_dossiers.add(task)
                    task.add_done_callback(self._live_dossiers.discard)
                day += timedelta(days=1)
            await asyncio.gather(*self._live_dossiers)
        finally:  # stopped early: dossiers still open stop with the simulation
            for task in list(self._live_dossiers):
                task.cancel()
            await asyncio.gather(*self._live_dossiers, return_exceptions=True)

    async def _live(self, plan: PlannedDossier) -> None:
        self.stats.planned += 1
        self.stats.planned_late += plan.late
        try:
            await self.clock.sleep_until(plan.received_at)
            applicant = self._applicant(plan)
            outcome = await self._verify(plan, applicant)
            accepted = outcome in ("khop", None) and not plan.refused
            await self._publish("dossier.submitted", lifecycle.submitted(plan, applicant, 2 if accepted else 1),
                                plan.received_at)
            if accepted:
                events = lifecycle.processing(plan)
            else:
                reason = "Hồ sơ không hợp lệ" if plan.refused else f"Thông tin công dân không khớp ({outcome})"
                events = lifecycle.refusal(plan, reason)
                self.stats.refused += 1
            for event in events:
                await self.clock.sleep_until(event.at)
                await self._publish(event.type, event.payload, event.at)
            self.stats.completed += 1
        except Exception:
            log.exception("dossier %s failed", plan.code)

    def _applicant(self, plan: PlannedDossier) -> dict:
        return applicant(self.population, plan)

    async def _verify(self, plan: PlannedDossier, applicant: dict) -> str | None:
        """The population database's verdict, or None when it did not answer in time."""
        request = {"MaYeuCau": plan.code, "MaDichVu": "XAC_THUC_CONG_DAN", "MaCanBo": f"CB.{plan.agency}",
                   "SoDinhDanh": applicant["SoDinhDanh"], "HoVaTen": applicant["HoVaTen"],
                   "NgaySinh": applicant["NgaySinh"]}
        try:
            reply = await self.connector.request("citizen.verify.request", request, target=POPULATION_DB,
                                                 timeout=self.verify_timeout, key=plan.code)
        except RequestTimeout:
            self.stats.verification_timeouts += 1  # the officer checks the papers by hand instead
            return None
        self.stats.verified[reply.payload["KetQua"]] += 1
        return reply.payload["KetQua"]

    async def _publish(self, type: str, payload: dict, at: datetime) -> None:
        envelope = await self.connector.publish(type, payload, key=payload["MaHoSo"], occurred_at=at)
        self.stats.events += 1
        if self.keep_records:
            self.published[str(envelope.id)] = payload["MaHoSo"]
        if type == "dossier.submitted":
            self.stats.submitted += 1

    async def _on_receipt(self, message: Message) -> None:
        receipt = message.payload
        self.stats.acknowledged += 1
        if self.keep_records:
            self.stats.receipts[receipt["MaThongDiep"]] += 1
        self.stats.receipts_refused += receipt["KetQua"] != "thanh_cong"


def applicant(population: Population, plan: PlannedDossier) -> dict:
    """A planned dossier's ChuHoSo, from its seed: the same citizen every run."""
    rng = random.Random(plan.applicant_seed)
    citizen = population.sample(rng)
    found = population.altered(citizen, rng) if plan.verification_mismatch else citizen.applicant()
    if plan.applicant is ApplicantKind.BUSINESS:
        found["MaSoDoanhNghiep"] = f"41{rng.randrange(10 ** 8):08d}"
    return found
