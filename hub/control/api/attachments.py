"""Attachments by reference: upload a file, fetch it as its uploader or as a receiver of a message that
referenced it (hub.control.attachments has the rules)."""

from __future__ import annotations

import base64
import logging
from typing import Annotated

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Path, Request
from fastapi.responses import StreamingResponse

from hub.control import attachments
from hub.control.api.deps import HubDep, client_address
from hub.control.api.errors import ApiError
from hub.control.api.responses import JsonResponse
from hub.core.attachments import ID_PATTERN, NAME_HEADER, SHA256_HEADER, encoded_name
from hub.core.credentials import HTTP_CREDENTIAL_HEADER, HTTP_SIGNATURE_HEADER, HTTP_SIGNED_AT_HEADER, http_seal
from hub.store.attachments import Attachment

router = APIRouter(tags=["attachments"])
log = logging.getLogger(__name__)
_SEAL = f"`{HTTP_CREDENTIAL_HEADER}`, `{HTTP_SIGNATURE_HEADER}` and `{HTTP_SIGNED_AT_HEADER}`"
_BYTES = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
_ANSWER = {"type": "object", "required": ["id", "sha256", "size", "content_type", "name"], "properties": {
    "id": {"type": "string", "pattern": ID_PATTERN}, "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    "size": {"type": "integer", "minimum": 1}, "content_type": {"type": "string"}, "name": {"type": "string"}}}


@router.post("/attachments", status_code=201, summary="Upload a file that a message will reference by its id",
             description=f"The body is the file's bytes, `Content-Type` its media type, `{NAME_HEADER}` its name "
                         "(UTF-8, percent-encoded). Sign the body as on POST /v1/messages, with the uploading "
                         f"connector's credential: {_SEAL}. Put the id answered in a message's payload; the "
                         "message's receivers fetch the file with GET /v1/attachments/{attachment_id}. At most "
                         "LGSP_MAX_ATTACHMENT_BYTES (413 beyond); pruned with the message log.",
             responses={201: {"content": {"application/json": {"schema": _ANSWER}}}, 403: {}, 413: {}, 422: {}},
             openapi_extra={"requestBody": {"required": True, "content": _BYTES}})
async def upload(request: Request, hub: HubDep) -> JsonResponse:
    data = await request.body()  # hub.control.api.limits answered 413 past LGSP_MAX_ATTACHMENT_BYTES
    try:
        stored = await attachments.upload(hub, data, request.headers, http_seal(request.headers))
    except attachments.Refused as refused:
        raise ApiError(refused.status, refused.message, refused.details) from None
    return JsonResponse(stored.view(), status_code=201)


@router.get("/attachments/{attachment_id}", summary="Fetch an attachment: its uploader, or a receiver of a message "
            "from the uploader that referenced it",
            description=f"Signed with the fetching connector's credential, {_SEAL}, over the bytes "
                        "`GET /v1/attachments/{attachment_id}` in place of a body. A receiver may ask before the "
                        "hub has logged the delivery that grants it: the hub waits up to 5 s, then answers 404 "
                        f"`notReferenced`; ask again. The bytes stream with `Content-Type`, `Content-Length`, `{SHA256_HEADER}` (hex) "
                        "and `Digest` (RFC 3230). Every fetch and refusal is in the message log (outcome "
                        "`fetched` or `fetch_refused`, the attachment id as key).",
            response_class=StreamingResponse, responses={200: {"content": _BYTES}, 403: {}, 404: {}, 503: {}})
async def fetch(request: Request, hub: HubDep,
                attachment_id: Annotated[str, Path(pattern=ID_PATTERN)]) -> StreamingResponse:
    try:
        attachment, fetcher, granted = await attachments.fetchable(hub, attachment_id, http_seal(request.headers))
    except attachments.Refused as refused:
        await _log_refusal(request, hub, attachment_id, refused)
        raise ApiError(refused.status, refused.message, refused.details) from None
    try:  # logged before a byte goes: a fetch the log cannot hold is no fetch
        await attachments.log_fetch(hub, attachment_id, fetcher, attachment, granted)
    except KafkaError as exc:
        raise ApiError(503, f"the fetch could not be logged ({exc}); try again") from None
    return StreamingResponse(hub.attachments.chunks(attachment_id), headers=_headers(attachment))


async def _log_refusal(request: Request, hub: HubDep, attachment_id: str, refused: attachments.Refused) -> None:
    if not attachments.kept(hub, refused, client_address(request)):
        return
    try:
        await attachments.log_fetch(hub, attachment_id, refused=refused)
    except KafkaError as exc:
        log.warning("a refused fetch of %s was not logged: %s", attachment_id, exc)


def _headers(attachment: Attachment) -> dict[str, str]:
    digest = base64.b64encode(bytes.fromhex(attachment.sha256)).decode()
    return {"Content-Type": attachment.content_type, "Content-Length": str(attachment.size),
            SHA256_HEADER: attachment.sha256, "Digest": f"sha-256={digest}", NAME_HEADER: encoded_name(attachment.name),
            "Content-Disposition": f"attachment; filename*=UTF-8''{encoded_name(attachment.name)}"}

