"""Official documents through a real hub, on each broker: an edXML package of the standard's shape goes in at
one agency's e-office and comes out as edXML at each receiver's, its attachment fetched by reference with
the same SHA-256 and its signature intact; the receiver's statuses come back to the sender as edXML; a
package that breaks a rule is refused at the edge, naming the element, and nothing reaches the hub."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import httpx
import pytest
from nacl.signing import SigningKey

from hub.core.envelope import Envelope
from hub.sdk import HttpRegistrar
from province.connectors.eoffice import edxml, signature
from province.connectors.eoffice.office import EOffice, office_id
from tests.support.hubs import OPERATOR, HubProcess
from tests.support.waiting import eventually

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "edxml" / "cong-van.edxml"
SENDER, RECEIVERS = "000.00.10.H22", ("000.00.01.H22", "000.00.13.H22")
STATUSES = ("01", "03", "04", "05", "06")


@pytest.fixture(scope="module")
def hub(tmp_path_factory, session_broker):
    process = HubProcess(tmp_path_factory.mktemp("documents"), session_broker.fresh()).start()
    yield process
    process.stop()


class Desk:
    """What an agency's document-management system got from its office."""

    def __init__(self) -> None:
        self.documents: list[tuple[bytes, dict]] = []
        self.statuses: list[tuple[bytes, dict]] = []

    async def document(self, xml: bytes, payload: dict) -> None:
        self.documents.append((xml, payload))

    async def status(self, xml: bytes, payload: dict) -> None:
        self.statuses.append((xml, payload))


async def test_an_edxml_document_crosses_the_hub_with_its_attachment_and_its_statuses_come_back(hub):
    desks = {code: Desk() for code in (SENDER, *RECEIVERS)}
    offices = {code: EOffice(code, f"Cơ quan {code}", deliver=desk.document, on_status=desk.status)
               for code, desk in desks.items()}
    key = SigningKey.generate()
    package = signature.sign(SAMPLE.read_bytes(), key, SENDER)
    sent_attachment = edxml.read_document(package).contents
    registrar = HttpRegistrar(hub.url)
    for office in offices.values():
        await office.connector.start(registrar)
    try:
        payload = await offices[SENDER].send(package)
        (reference,) = payload["Attachments"]
        assert reference["Reference"].startswith("lgsp-att-")
        for code in RECEIVERS:
            await eventually(lambda: desks[code].documents, what=f"the document at {code}", timeout=60)
            xml, received = desks[code].documents[0]
            again = edxml.read_document(xml)
            assert again.payload == edxml.read_document(package).payload  # every field, as the sender wrote it
            (content,) = again.contents.values()
            assert hashlib.sha256(content).hexdigest() == reference["SHA256"] == hashlib.sha256(
                next(iter(sent_attachment.values()))).hexdigest()
            assert signature.verify(xml, {SENDER: key.verify_key}) is None
            for n, code_ in enumerate(STATUSES):
                await offices[code].report(received, code_, f"2023/08/{28 + min(n, 3):02d} 10:00:00")
        await eventually(lambda: len(desks[SENDER].statuses) == len(STATUSES) * len(RECEIVERS),
                         what="every status back at the sender", timeout=60)
        back = {(p["From"]["OrganId"], p["StatusCode"]) for _, p in desks[SENDER].statuses}
        assert back == {(code, status) for code in RECEIVERS for status in STATUSES}
        for xml, status in desks[SENDER].statuses:
            assert edxml.read_status(xml) == status
            assert status["ResponseFor"]["DocumentId"] == payload["DocumentId"]
    finally:
        await asyncio.gather(*(office.connector.stop() for office in offices.values()))


async def test_a_package_that_breaks_a_rule_is_refused_at_the_edge_and_nothing_is_sent(hub):
    office = EOffice("000.00.02.H22", "Sở Kế hoạch và Đầu tư")
    await office.connector.start(HttpRegistrar(hub.url))
    try:
        broken = SAMPLE.read_bytes().replace(b"<edXML:DueDate>2023/09/08", b"<edXML:DueDate>08/09/2023")
        with pytest.raises(edxml.EdXMLError) as caught:
            await office.send(broken)
        assert [(p.field, p.rule) for p in caught.value.problems] == [("MessageHeader/DueDate", "pattern")]
        with pytest.raises(edxml.EdXMLError) as caught:
            await office.send(SAMPLE.read_bytes())  # From is another agency
        assert caught.value.problems[0].field == "MessageHeader/From/OrganId"
        assert office.connector.counters.published == 0
    finally:
        await office.connector.stop()


async def test_an_office_refuses_a_document_another_agencys_office_sent_in_its_name(hub):
    desk = Desk()
    receiver = EOffice("000.00.04.H22", "Sở Tài nguyên và Môi trường", deliver=desk.document)
    impostor = EOffice("000.00.05.H22", "Sở Giao thông vận tải")
    await asyncio.gather(*(o.connector.start(HttpRegistrar(hub.url)) for o in (receiver, impostor)))
    try:
        package = edxml.read_document(SAMPLE.read_bytes()).payload  # From: 000.00.10.H22
        payload = {k: v for k, v in package.items() if k != "Attachments"}
        forged = Envelope.new(edxml.SENT, 1, impostor.connector.id, payload, target=receiver.connector.id)
        await impostor.connector.send(forged)

        def dead_lettered() -> list:
            letters = httpx.get(f"{hub.url}/v1/dlq", params={"stage": "handler"}, headers=OPERATOR).json()["items"]
            return [letter for letter in letters if str(forged.id) in letter.get("original", "")]

        await eventually(dead_lettered, what="the forged document on the dead-letter topic", timeout=60)
        assert "came from " + impostor.connector.id in dead_lettered()[0]["reason"]
        assert desk.documents == [] and office_id("000.00.10.H22") != impostor.connector.id
    finally:
        await asyncio.gather(*(o.connector.stop() for o in (receiver, impostor)))
