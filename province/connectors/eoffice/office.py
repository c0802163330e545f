"""One agency's e-office (văn phòng điện tử) on the hub: its document-management system's edXML in and out.

The system hands `send` an edXML document package as it would to any edXML exchange: the office reads it
(edxml.read_document: a package that breaks a rule is refused here, naming the element), uploads each
attachment to the hub (POST /v1/attachments) and sends one `document.sent` per receiving agency, addressed to
that agency's office, carrying the references instead of the files. On the other side the office fetches the
files with its own credential, checks their SHA-256, writes the package back as edXML and hands it to its
system (`deliver`), which answers with statuses (`report`, or `report_xml` with an edXML status package):
`document.status` to the sender's office, written back as edXML there (`on_status`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from hub.core.rejection import FieldError
from hub.sdk import Connector, Message
from province.connectors.eoffice import edxml

log = logging.getLogger(__name__)

SYSTEM = "van-phong-dien-tu"  # the inventory's e-office system, which every agency's office is part of
TYPES = (edxml.SENT, edxml.STATUS)
Deliver = Callable[[bytes, dict[str, Any]], Awaitable[None]]  # the package as edXML, and as the message's payload


def office_id(agency: str) -> str:
    """The connector id of an agency's e-office: vpdt-000-00-10-h22 for 000.00.10.H22."""
    return "vpdt-" + agency.lower().replace(".", "-")


class EOffice:
    def __init__(self, agency: str, name: str, *, deliver: Deliver | None = None,
                 on_status: Deliver | None = None) -> None:
        self.agency = agency
        self.connector = Connector(office_id(agency), name=f"Văn phòng điện tử – {name}", agency=agency,
                                   systems=[SYSTEM], produces=list(TYPES))
        self.deliver, self.on_status = deliver, on_status
        self.connector.on(edxml.SENT)(self._received)
        self.connector.on(edxml.STATUS)(self._status)

    async def send(self, xml: bytes) -> dict[str, Any]:
        """Send a document package to each of its receivers; returns the payload sent."""
        package = edxml.read_document(xml)
        payload = package.payload
        sender = payload["From"]["OrganId"]
        if sender != self.agency:
            raise edxml.EdXMLError([FieldError("MessageHeader/From/OrganId", "sender",
                                                     f"this office sends for {self.agency}, not {sender}")])
        payload["Attachments"] = [await self._upload(entry, package.contents[entry["ContentId"]])
                                  for entry in payload.get("Attachments", [])]
        if not payload["Attachments"]:
            del payload["Attachments"]
        for receiver in payload["To"]:
            await self.connector.publish(edxml.SENT, payload, target=office_id(receiver["OrganId"]),
                                         key=payload["DocumentId"])
        return payload

    async def report(self, document: dict[str, Any], code: str, at: str, description: str = "",
                     staff: dict[str, str] | None = None) -> dict[str, Any]:
        """Tell a document's sender where it stands here (StatusCode `code`, at `at`, yyyy/MM/dd HH:mm:ss)."""
        status = {"From": {"OrganId": self.agency, "OrganName": self.connector.name},
                  "ResponseFor": {"OrganId": document["From"]["OrganId"],
                                  "Code": f"{document['Code']['CodeNumber']}/{document['Code']['CodeNotation']}",
                                  "PromulgationDate": document["PromulgationInfo"]["PromulgationDate"],
                                  "DocumentId": document["DocumentId"]},
                  "StatusCode": code, "Timestamp": at}
        if description:
            status["Description"] = description
        if staff:
            status["StaffInfo"] = staff
        await self._send_status(status)
        return status

    async def report_xml(self, xml: bytes) -> dict[str, Any]:
        """Send a status package the system wrote as edXML."""
        status = edxml.read_status(xml)
        if status["From"]["OrganId"] != self.agency:
            raise edxml.EdXMLError([FieldError("Status/From/OrganId", "sender",
                                                     f"this office reports for {self.agency}")])
        await self._send_status(status)
        return status

    async def _send_status(self, status: dict[str, Any]) -> None:
        await self.connector.publish(edxml.STATUS, status, target=office_id(status["ResponseFor"]["OrganId"]),
                                     key=status["ResponseFor"]["DocumentId"])

    async def _upload(self, entry: dict[str, Any], data: bytes) -> dict[str, Any]:
        stored = await self.connector.upload(data, entry["ContentType"], entry["AttachmentName"])
        if stored["sha256"] != entry["SHA256"]:
            raise RuntimeError(f"the hub stored {entry['AttachmentName']} with SHA-256 {stored['sha256']}, "
                               f"not {entry['SHA256']}")
        return {**entry, "Reference": stored["id"]}

    async def _received(self, message: Message) -> None:
        payload = message.payload
        _from_its_office(message, payload["From"]["OrganId"])
        contents = {entry["ContentId"]: await self.connector.attachment(entry["Reference"], sha256=entry["SHA256"])
                    for entry in payload.get("Attachments", [])}
        if self.deliver is not None:
            await self.deliver(edxml.write_document(payload, contents), payload)

    async def _status(self, message: Message) -> None:
        _from_its_office(message, message.payload["From"]["OrganId"])
        if self.on_status is not None:
            await self.on_status(edxml.write_status(message.payload), message.payload)


class NotItsOffice(ValueError):
    """A document or status whose From names an agency other than the one whose office sent it."""


def _from_its_office(message: Message, agency: str) -> None:
    """Only an agency's own office speaks for it: the hub proves which connector sent a message, not which
    agency its payload names. Refused here, the message goes to the dead-letter topic (stage handler)."""
    if message.envelope.source != office_id(agency):
        raise NotItsOffice(f"From/OrganId {agency} came from {message.envelope.source}, not {office_id(agency)}")
