"""The scenario's e-offices exchanging official documents on the simulated clock.

Each agency of the scenario's `[documents]` has its e-office connector (office.EOffice). Its document-management
system is played here: on the planned instants it writes an edXML package (province.documents plans what),
signs it with the agency's key and hands it to its office; a receiving system checks the signature, then
reports the statuses `handling` plans (a refused document, or arrived → accepted → assigned → in progress →
completed, on time or late against the DueDate). Keys are derived from the seed, one per agency.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

import httpx
from nacl.signing import SigningKey
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_fixed

from hub.core.clock import VN_TZ
from hub.sdk import Connector
from province.clock import SimClock
from province.connectors.eoffice import edxml, signature
from province.connectors.eoffice.office import EOffice
from province.documents import REFUSED, DocumentPlanner, PlannedDocument, handling, notation
from province.scenario import Scenario
from province.traffic import WorkCalendar

log = logging.getLogger(__name__)

STAMP = "%Y/%m/%d %H:%M:%S"


@dataclass
class ExchangeStats:
    sent: int = 0  # documents handed to an office (one per package, whatever its receivers)
    delivered: int = 0  # packages a receiving office got
    unsigned: int = 0  # delivered packages whose signature did not verify (refused)
    statuses_sent: Counter = field(default_factory=Counter)
    statuses_received: Counter = field(default_factory=Counter)
    failed: int = 0


class DocumentExchange:
    def __init__(self, scenario: Scenario, clock: SimClock, seed: int, volume: float = 1.0,
                 days: int | None = None) -> None:
        documents = scenario.documents
        assert documents is not None
        self.scenario, self.clock, self.seed, self.days = scenario, clock, seed, days
        self.documents, self.calendar = documents, WorkCalendar(scenario.calendar)
        self.planner = DocumentPlanner(scenario, seed, volume)
        self.names = {a.code: a.name for a in scenario.agencies}
        self.keys = {code: SigningKey(hashlib.sha256(f"{seed}:edxml:{code}".encode()).digest())
                     for code in documents.agencies}
        self.public_keys = {code: key.verify_key for code, key in self.keys.items()}
        self.offices = {code: EOffice(code, self.names[code], deliver=self._delivery(code), on_status=self._status(code))
                        for code in documents.agencies}
        self.stats = ExchangeStats()
        self._live: set[asyncio.Task] = set()

    @property
    def connectors(self) -> list[Connector]:
        return [office.connector for office in self.offices.values()]

    async def run(self) -> None:
        await self._api_listening()
        day = self.scenario.calendar.start
        try:
            while self.days is None or (day - self.scenario.calendar.start).days < self.days:
                await self.clock.sleep_until(datetime.combine(day, time(), VN_TZ))
                for plan in self.planner.day(day):
                    self._spawn(self._send(plan))
                day += timedelta(days=1)
            while self._live:
                await asyncio.gather(*list(self._live))
        finally:
            for task in list(self._live):
                task.cancel()
            await asyncio.gather(*self._live, return_exceptions=True)

    async def _api_listening(self, timeout: float = 300.0) -> None:
        """Files go to the hub's API, which in `lgsp-hub up` listens only once the hub has started its guests."""
        url = self.connectors[0].hub_url
        async with httpx.AsyncClient(timeout=5) as client:
            async for attempt in AsyncRetrying(retry=retry_if_exception_type(httpx.TransportError), reraise=True,
                                               stop=stop_after_delay(timeout), wait=wait_fixed(0.5)):
                with attempt:
                    await client.get(f"{url}/v1/health")

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._live.add(task)
        task.add_done_callback(self._live.discard)

    async def _send(self, plan: PlannedDocument) -> None:
        await self.clock.sleep_until(plan.sent_at)
        try:
            package = signature.sign(self.package(plan), self.keys[plan.sender], plan.sender)
            await self.offices[plan.sender].send(package)
            self.stats.sent += 1
        except Exception:
            self.stats.failed += 1
            log.exception("document %s was not sent", plan.document_id)

    def package(self, plan: PlannedDocument) -> bytes:
        """The edXML package a sender's system writes for a planned document."""
        return edxml.write_document(*document_payload(plan, self.names, self.scenario.province.name))

    def _delivery(self, receiver: str):
        async def delivered(xml: bytes, payload: dict[str, Any]) -> None:
            self.stats.delivered += 1
            problem = signature.verify(xml, self.public_keys)
            if problem:
                self.stats.unsigned += 1
                await self._report(receiver, payload, (REFUSED, self.clock.now(), f"Chữ ký số không hợp lệ: {problem}"))
                return
            arrived = self.clock.now()
            self._spawn(self._handle(receiver, payload, arrived))
        return delivered

    async def _handle(self, receiver: str, payload: dict[str, Any], arrived: datetime) -> None:
        try:
            for step in handling(self.documents, self.calendar, self.seed, payload["DocumentId"], receiver, arrived):
                await self.clock.sleep_until(step.at)
                await self._report(receiver, payload, (step.code, step.at, ""))
        except Exception:
            self.stats.failed += 1
            log.exception("statuses of %s at %s stopped", payload["DocumentId"], receiver)

    async def _report(self, receiver: str, payload: dict[str, Any], step: tuple[str, datetime, str]) -> None:
        code, at, description = step
        await self.offices[receiver].report(payload, code, at.astimezone(VN_TZ).strftime(STAMP), description)
        self.stats.statuses_sent[code] += 1

    def _status(self, sender: str):
        async def received(xml: bytes, payload: dict[str, Any]) -> None:
            self.stats.statuses_received[payload["StatusCode"]] += 1
        return received


def document_payload(plan: PlannedDocument, names: dict[str, str], place: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The `document.sent` payload of a planned document, and its file's content by ContentId."""
    stamp = plan.sent_at.astimezone(VN_TZ)
    payload: dict[str, Any] = {
        "From": {"OrganId": plan.sender, "OrganName": names[plan.sender]},
        "To": [{"OrganId": code, "OrganName": names[code]} for code in plan.recipients],
        "Code": {"CodeNumber": str(plan.number), "CodeNotation": notation(plan.sender)},
        "PromulgationInfo": {"Place": place, "PromulgationDate": f"{stamp:%Y/%m/%d}"},
        "DocumentType": {"Type": 2, "TypeName": plan.type_name},
        "Subject": plan.subject,
        "SignerInfo": {"Competence": "KT. GIÁM ĐỐC", "Position": "Phó Giám đốc", "FullName": "Nguyễn Văn An"},
        "ToPlaces": [names[code] for code in plan.recipients],
        "OtherInfo": {"Priority": 0, "PageAmount": 1},
        "SteeringType": 0,
        "DocumentId": plan.document_id,
        "TraceHeaderList": {"TraceHeader": [{"OrganId": plan.sender, "Timestamp": f"{stamp:{STAMP}}"}],
                            "Bussiness": {"BussinessDocType": 0, "Paper": int(plan.paper)}},
    }
    if plan.due is not None:
        payload["DueDate"] = f"{plan.due:%Y/%m/%d}"
    contents = {}
    if plan.attachment_size is not None:
        content_id = hashlib.sha256(plan.document_id.encode()).hexdigest()[:32]
        data = b"%PDF-1.4\n" + random.Random(plan.document_id).randbytes(plan.attachment_size)
        payload["Attachments"] = [{"ContentId": content_id, "ContentType": "application/pdf",
                                   "AttachmentName": f"{plan.number}-{notation(plan.sender)}.pdf"}]
        contents[content_id] = data
    return payload, contents
