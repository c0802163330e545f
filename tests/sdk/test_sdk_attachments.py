"""The SDK's fetch of an attachment against a stand-in hub: asked again while the hub has not logged the
delivery that grants it, not on any other refusal; the bytes checked against the SHA-256s it is told."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from hub.core.attachments import NAME_HEADER, SHA256_HEADER, fetch_request, new_id
from hub.core.credentials import Keyring, issue
from hub.sdk.attachments import AttachmentClient, AttachmentError

CREDENTIAL, ROW = issue("van-thu")
KEYRING = Keyring([ROW])
ID = new_id()
DATA = b"%PDF-1.7 decision"
DIGEST = hashlib.sha256(DATA).hexdigest()


def refusal(status: int, rule: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": "x", "message": f"refused: {rule}", "details": {
        "stage": "attachment", "errors": [{"field": "path.attachment_id", "rule": rule, "message": "no"}]}}})


def hub(answers: list[httpx.Response], seen: list[httpx.Request]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        h = request.headers  # every attempt signed anew, over the request line
        assert KEYRING.signer(h["LGSP-Credential"], h["LGSP-Signature"], h["LGSP-Signed-At"],
                              fetch_request(ID), float(h["LGSP-Signed-At"])) == "van-thu"
        return answers.pop(0) if len(answers) > 1 else answers[0]
    return httpx.MockTransport(answer)


def bytes_answer(data: bytes = DATA, digest: str = DIGEST) -> httpx.Response:
    return httpx.Response(200, content=data, headers={SHA256_HEADER: digest, "content-type": "application/pdf"})


async def test_a_fetch_asks_again_until_the_log_grants_it():
    seen: list[httpx.Request] = []
    answers = [refusal(404, "notReferenced"), refusal(404, "notReferenced"), bytes_answer()]
    client = AttachmentClient("http://hub", CREDENTIAL, transport=hub(answers, seen))
    assert await client.fetch(ID, DIGEST) == DATA
    assert len(seen) == 3 and seen[0].url.path == f"/v1/attachments/{ID}"


async def test_other_refusals_are_not_asked_again():
    seen: list[httpx.Request] = []
    client = AttachmentClient("http://hub", CREDENTIAL, transport=hub([refusal(403, "validSignature")], seen))
    with pytest.raises(AttachmentError) as refused:
        await client.fetch(ID)
    assert (refused.value.status, refused.value.rule, len(seen)) == (403, "validSignature", 1)


async def test_a_never_granted_fetch_gives_up_after_its_wait():
    client = AttachmentClient("http://hub", CREDENTIAL, transport=hub([refusal(404, "notReferenced")], []))
    with pytest.raises(AttachmentError) as refused:
        await client.fetch(ID, wait=0.3)
    assert refused.value.rule == "notReferenced"


@pytest.mark.parametrize("answered, expected", [(bytes_answer(b"tampered"), None), (bytes_answer(), "0" * 64)])
async def test_bytes_that_do_not_hash_as_told_are_refused(answered, expected):
    client = AttachmentClient("http://hub", CREDENTIAL, transport=hub([answered], []))
    with pytest.raises(AttachmentError, match="hash to"):
        await client.fetch(ID, expected)


async def test_an_upload_is_signed_over_its_bytes_and_names_the_file():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": ID, "sha256": DIGEST, "size": len(DATA),
                                         "content_type": "application/pdf", "name": "Quyết định.pdf"})
    client = AttachmentClient("http://hub", CREDENTIAL, transport=httpx.MockTransport(answer))
    assert (await client.upload(DATA, "application/pdf", "Quyết định.pdf"))["id"] == ID
    h = seen[0].headers
    assert seen[0].content == DATA and h[NAME_HEADER] == "Quy%E1%BA%BFt%20%C4%91%E1%BB%8Bnh.pdf"
    assert KEYRING.signer(h["LGSP-Credential"], h["LGSP-Signature"], h["LGSP-Signed-At"], DATA,
                          float(h["LGSP-Signed-At"])) == "van-thu"


async def test_a_hub_not_yet_listening_is_asked_again():
    seen: list[httpx.Request] = []
    refused_connections = [httpx.ConnectError("connection refused")] * 2

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if refused_connections:
            raise refused_connections.pop()
        return bytes_answer()

    client = AttachmentClient("http://hub", CREDENTIAL, transport=httpx.MockTransport(answer))
    assert await client.fetch(ID, DIGEST) == DATA
    assert len(seen) == 3
