"""HTTP ingress: the same checks as the router, answered at once; refusals are kept on the DLQ."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from fastapi import APIRouter, Query, Request
from fastapi.responses import ORJSONResponse

from hub.api.deps import HubDep, Operator
from hub.api.errors import ApiError
from hub.audit import decision
from hub.credentials import CREDENTIAL_HEADER, HTTP_CREDENTIAL_HEADER, HTTP_SIGNATURE_HEADER, SIGNATURE_HEADER
from hub.envelope import Envelope
from hub.routing import Rejection, route

router = APIRouter(tags=["messages"])

@dataclass(frozen=True)
class _HttpRecord:  # what the message log needs of a message refused at the HTTP edge
    value: bytes


_STATUS = {"auth": 403, "decode": 400, "envelope": 422, "schema": 422, "routing": 422}


@router.post("/messages", status_code=202, summary="Publish one message (an envelope), signed by its source",
             description=f"Sign the exact body with the source connector's credential and send the credential id "
                         f"and signature in the `{HTTP_CREDENTIAL_HEADER}` and `{HTTP_SIGNATURE_HEADER}` headers.",
             responses={400: {}, 403: {}, 413: {}, 422: {}, 503: {}},
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": Envelope.model_json_schema()}}}})
async def publish(request: Request, hub: HubDep) -> ORJSONResponse:
    limit = hub.settings.max_message_bytes
    if int(request.headers.get("content-length") or 0) > limit:
        raise ApiError(413, f"message larger than the limit of {limit} bytes", {"limit_bytes": limit})
    raw = await request.body()
    if len(raw) > limit:
        raise ApiError(413, f"message larger than the limit of {limit} bytes", {"limit_bytes": limit})
    if hub.broker_memory_exhausted():
        raise ApiError(503, "the embedded broker reached LGSP_EMBEDDED_MAX_RSS_MB; restart the hub or use Kafka")
    seal = (request.headers.get(HTTP_CREDENTIAL_HEADER), request.headers.get(HTTP_SIGNATURE_HEADER))
    catalog = hub.catalog
    outcome = route(raw, catalog.schemas, catalog.directory, limit, catalog.keyring, seal, time.time())
    if isinstance(outcome, Rejection):
        hub.message_log.record([decision(_HttpRecord(raw), outcome, time.time())])
        await hub.dead_letter(raw, outcome)
        errors = [{"field": e.field, "rule": e.rule, "message": e.message} for e in outcome.errors]
        raise ApiError(_STATUS[outcome.stage], outcome.reason, {"stage": outcome.stage, "errors": errors})
    envelope = outcome.envelope
    await hub.ingest(raw, envelope.key, signed(seal))  # the router checks the signature again
    return ORJSONResponse({"id": str(envelope.id), "status": "accepted", "targets": list(outcome.targets)},
                          status_code=202)


def signed(seal: tuple[str | None, str | None]) -> list[tuple[str, bytes]] | None:
    """The HTTP seal as the Kafka record headers the router reads."""
    credential, signature = seal
    if not credential or not signature:
        return None
    return [(CREDENTIAL_HEADER, credential.encode()), (SIGNATURE_HEADER, signature.encode())]


@router.get("/messages/{message_id}", dependencies=[Operator], summary="What the hub decided about one message (message log)")
async def get_message(message_id: str, hub: HubDep) -> dict:
    records = await asyncio.to_thread(hub.store.find_log, 100, message_id=message_id)
    if not records:
        raise ApiError(404, f"no routing decision logged for message {message_id!r}")
    return {"message_id": message_id, "decisions": records}


@router.get("/messages", dependencies=[Operator], summary="Search the message log by correlation id or ordering key (dossier code, personal ID)")
async def find_messages(hub: HubDep, correlation_id: str | None = None, key: str | None = None,
                        limit: int = Query(100, ge=1, le=1000)) -> dict:
    criteria = {name: value for name, value in (("correlation_id", correlation_id), ("key", key)) if value}
    if not criteria:
        raise ApiError(422, "give correlation_id or key", [{"field": "query", "rule": "oneRequired",
                                                           "message": "correlation_id or key is required"}])
    return {"criteria": criteria, "decisions": await asyncio.to_thread(hub.store.find_log, limit, **criteria)}
