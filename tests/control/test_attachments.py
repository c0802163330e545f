"""Attachments by reference on each broker, through a real hub process and the SDK: a file uploaded, a
message referencing it, the receiver fetching it with its own credential (a 20 MB one too); a connector the
message did not reach refused; unsigned, badly signed and oversized uploads refused; each fetch and refusal
in the message log, whose chains still verify. On Apache Kafka the bytes are kept in the store's database,
on tansu in a directory (LGSP_ATTACHMENTS_DIR)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest

from hub.control.runtime import Hub
from hub.core.attachments import NAME_HEADER, SHA256_HEADER, fetch_request
from hub.core.credentials import Credential
from hub.sdk import AttachmentError, Connector, HttpRegistrar, Message
from hub.sdk.registrar import RegistrationClient
from hub.settings import Settings
from tests.support.hubs import OPERATOR, OPERATOR_TOKEN, HubProcess, audit
from tests.support.waiting import eventually

NOTE = "attachment.note"
NOTE_SCHEMA = {"type": "object", "required": ["TepDinhKem", "SHA256"], "additionalProperties": False,
               "properties": {"TepDinhKem": {"type": "string"}, "SHA256": {"type": "string"}}}
LIMIT = 24 << 20  # above the 20 MB end to end, and small enough to exceed in a test


@pytest.fixture(scope="module")
def hub(tmp_path_factory, session_broker):
    tmp = tmp_path_factory.mktemp("attachments")
    on_disk = {"LGSP_ATTACHMENTS_DIR": str(tmp / "files")} if session_broker.kind == "tansu" else {}
    process = HubProcess(tmp, session_broker.fresh(), LGSP_MAX_ATTACHMENT_BYTES=str(LIMIT), **on_disk).start()
    registered = httpx.post(f"{process.url}/v1/schemas/{NOTE}/versions", json={"schema": NOTE_SCHEMA},
                            headers=OPERATOR)
    assert registered.status_code == 200, registered.text
    yield process
    process.stop()


def _connector(connector_id: str) -> Connector:
    return Connector(connector_id, name=connector_id, agency="000.00.01.H22", heartbeat_seconds=0.5,
                     produces=[NOTE])


@dataclass
class Parties:
    sender: Connector
    receiver: Connector
    third: Connector
    fetched: list[bytes]
    credentials: dict[str, Credential]


@pytest.fixture
async def parties(hub):
    """The sender (a province department), the receiver (its records office) and a third party that takes
    the same type, each started on the SDK with its own credential; and what the receiver fetched."""
    sender, receiver, third = _connector("so-noi-vu"), _connector("van-thu"), _connector("ben-thu-ba")
    fetched: list[bytes] = []

    @receiver.on(NOTE)
    async def fetch(message: Message) -> None:  # at once: the SDK waits for the log to grant it
        fetched.append(await receiver.attachment(message.payload["TepDinhKem"], message.payload["SHA256"]))

    @third.on(NOTE)
    async def ignore(message: Message) -> None:
        pass

    credentials = {}
    for connector in (sender, receiver, third):  # registered as an operator would, the credentials handed over
        credential, broker_credential = RegistrationClient(hub.url, OPERATOR_TOKEN).enrol(connector.spec())
        credentials[connector.id] = credential
        await connector.start(HttpRegistrar(hub.url, credential=credential, broker_credential=broker_credential))
    yield Parties(sender, receiver, third, fetched, credentials)
    for connector in (sender, receiver, third):
        await connector.stop()


async def _sent(sender: Connector, data: bytes, name: str, content_type: str = "application/pdf") -> dict:
    uploaded = await sender.upload(data, content_type, name)
    assert uploaded["size"] == len(data) and uploaded["sha256"] == hashlib.sha256(data).hexdigest()
    assert uploaded["name"] == name and uploaded["content_type"] == content_type
    await sender.publish(NOTE, {"TepDinhKem": uploaded["id"], "SHA256": uploaded["sha256"]}, target="van-thu")
    return uploaded


async def test_a_20_mb_attachment_goes_by_reference_and_only_its_receivers_fetch_it(hub, parties):
    sender, third, fetched = parties.sender, parties.third, parties.fetched
    data = os.urandom(20 << 20)
    uploaded = await _sent(sender, data, "Quyết định số 12/QĐ-UBND.pdf")
    await eventually(lambda: fetched, timeout=60, what="the receiver to fetch the attachment")
    assert fetched == [data]
    assert await sender.attachment(uploaded["id"], uploaded["sha256"]) == data  # its uploader's own
    with pytest.raises(AttachmentError) as refused:  # registered, signing, but never sent the message
        await third.attachment(uploaded["id"], wait=1.0)
    assert refused.value.status == 404 and refused.value.rule == "notReferenced"


async def test_the_answer_streams_the_bytes_with_their_type_length_and_digest(hub, parties):
    sender = parties.sender
    uploaded = await _sent(sender, b"%PDF-1.7 tiny", "Công văn.pdf")
    await eventually(lambda: parties.fetched, what="the receiver to fetch the attachment")
    signed = parties.credentials["van-thu"].http_headers(fetch_request(uploaded["id"]))
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.get(f"{hub.url}/v1/attachments/{uploaded['id']}", headers=signed)
        assert answer.status_code == 200 and answer.content == b"%PDF-1.7 tiny"
        assert answer.headers["content-type"] == "application/pdf"
        assert answer.headers["content-length"] == "13" and answer.headers[SHA256_HEADER] == uploaded["sha256"]
        assert answer.headers["digest"].startswith("sha-256=")
        assert answer.headers[NAME_HEADER] == "C%C3%B4ng%20v%C4%83n.pdf"
        # A fetch's signature binds its path: the same headers do not open another attachment.
        other = await sender.upload(b"other", "text/plain", "other.txt")
        moved = await client.get(f"{hub.url}/v1/attachments/{other['id']}", headers=signed)
    assert moved.status_code == 403 and _rule(moved) == "validSignature"


async def test_fetches_and_refusals_are_in_the_message_log_and_it_verifies(hub, parties):
    uploaded = await _sent(parties.sender, b"log me", "log.txt", "text/plain")
    await eventually(lambda: parties.fetched, what="the receiver to fetch the attachment")
    with pytest.raises(AttachmentError):
        await parties.third.attachment(uploaded["id"], wait=0.5)
    async with httpx.AsyncClient(timeout=30) as client:  # unsigned: refused, kept like any refusal at auth
        unsigned = await client.get(f"{hub.url}/v1/attachments/{uploaded['id']}")
    assert unsigned.status_code == 403 and _rule(unsigned) == "signed"

    def logged() -> list[dict]:
        found = httpx.get(f"{hub.url}/v1/messages", params={"key": uploaded["id"]}, headers=OPERATOR)
        return found.json()["decisions"]
    await eventually(lambda: {"fetched", "fetch_refused"} <= {d["outcome"] for d in logged()},
                     what="the fetch and the refusals in the message log")
    records = logged()
    fetch = next(d for d in records if d["outcome"] == "fetched")
    assert fetch["source"] == "van-thu" and fetch["payload_sha256"] == uploaded["sha256"]
    assert fetch["correlation_id"]  # the message that granted it
    refusals = {(d["source"], d["rule"]) for d in records if d["outcome"] == "fetch_refused"}
    assert ("ben-thu-ba", "notReferenced") in refusals and (None, "signed") in refusals
    verified = await asyncio.to_thread(audit, hub.env["LGSP_DATABASE_URL"])
    assert verified.returncode == 0, verified.stderr


async def test_unsigned_badly_signed_and_stale_uploads_are_refused(hub, parties):
    credential = parties.credentials["so-noi-vu"]
    data = b"a file"
    described = {"content-type": "text/plain", NAME_HEADER: "a.txt"}
    cases = [({}, "signed"), (credential.http_headers(b"another file"), "validSignature"),
             (credential.http_headers(data, int(time.time()) - 3600), "fresh")]
    async with httpx.AsyncClient(timeout=30) as client:
        for seal, rule in cases:
            refused = await client.post(f"{hub.url}/v1/attachments", content=data, headers={**described, **seal})
            assert refused.status_code == 403 and _rule(refused) == rule, refused.text
        nameless = await client.post(f"{hub.url}/v1/attachments", content=data,
                                     headers={"content-type": "text/plain", **credential.http_headers(data)})
    assert nameless.status_code == 422 and _field_rule(nameless) == (f"header.{NAME_HEADER}", "required")


async def test_an_upload_over_the_limit_is_413_before_its_body_is_read(hub):
    """Declared over LGSP_MAX_ATTACHMENT_BYTES, it is refused at once: the body need not even be sent."""
    address = urlsplit(hub.url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    writer.write(f"POST /v1/attachments HTTP/1.1\r\nHost: {address.netloc}\r\nContent-Type: application/pdf\r\n"
                 f"Content-Length: {LIMIT + 1}\r\n\r\n".encode())
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), 30)
    writer.close()
    assert status.split()[1] == b"413", status


def _rule(response: httpx.Response) -> str:
    return _field_rule(response)[1]


def _field_rule(response: httpx.Response) -> tuple[str, str]:
    error = response.json()["error"]["details"]["errors"][0]
    return error["field"], error["rule"]


def test_in_process_connectors_reach_the_api_the_hub_listens_on():
    assert Hub(Settings(host="0.0.0.0", port=8123, broker="tansu")).api_url == "http://127.0.0.1:8123"
    assert Hub(Settings(host="::", port=8123, broker="tansu")).api_url == "http://[::1]:8123"
