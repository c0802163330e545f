"""HTTP ingress: the same checks as the router, answered at once; refusals are kept on the DLQ."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from fastapi import APIRouter, Query, Request
from fastapi.responses import ORJSONResponse

from hub.api.deps import HubDep
from hub.api.errors import ApiError
from hub.audit import decision
from hub.envelope import Envelope
from hub.routing import Rejection, route

router = APIRouter(tags=["messages"])

@dataclass(frozen=True)
class _HttpRecord:  # what the message log needs of a message refused at the HTTP edge
    value: bytes


_STATUS = {"decode": 400, "envelope": 422, "schema": 422, "routing": 422}


@router.post("/messages", status_code=202, summary="Publish one message (an envelope) to the hub",
             responses={400: {}, 413: {}, 422: {}, 503: {}},
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
    outcome = route(raw, hub.catalog.schemas, hub.catalog.directory, limit)
    if isinstance(outcome, Rejection):
        hub.message_log.record([decision(_HttpRecord(raw), outcome, time.time())])
        await hub.dead_letter(raw, outcome)
        errors = [{"field": e.field, "rule": e.rule, "message": e.message} for e in outcome.errors]
        raise ApiError(_STATUS[outcome.stage], outcome.reason, {"stage": outcome.stage, "errors": errors})
    envelope = outcome.envelope
    await hub.ingest(raw, envelope.key)
    return ORJSONResponse({"id": str(envelope.id), "status": "accepted", "targets": list(outcome.targets)},
                          status_code=202)


@router.get("/messages/{message_id}", summary="What the hub decided about one message (message log)")
async def get_message(message_id: str, hub: HubDep) -> dict:
    records = await asyncio.to_thread(hub.store.find_log, 100, message_id=message_id)
    if not records:
        raise ApiError(404, f"no routing decision logged for message {message_id!r}")
    return {"message_id": message_id, "decisions": records}


@router.get("/messages", summary="Search the message log by correlation id or ordering key (dossier code, personal ID)")
async def find_messages(hub: HubDep, correlation_id: str | None = None, key: str | None = None,
                        limit: int = Query(100, ge=1, le=1000)) -> dict:
    criteria = {name: value for name, value in (("correlation_id", correlation_id), ("key", key)) if value}
    if not criteria:
        raise ApiError(422, "give correlation_id or key", [{"field": "query", "rule": "oneRequired",
                                                           "message": "correlation_id or key is required"}])
    return {"criteria": criteria, "decisions": await asyncio.to_thread(hub.store.find_log, limit, **criteria)}
