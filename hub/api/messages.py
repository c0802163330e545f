"""HTTP ingress: the same checks as the router, answered at once; refusals are kept on the DLQ."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import ORJSONResponse

from hub.api.deps import HubDep
from hub.api.errors import ApiError
from hub.envelope import Envelope
from hub.routing import Rejection, route

router = APIRouter(tags=["messages"])

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
        await hub.dead_letter(raw, outcome)
        errors = [{"field": e.field, "rule": e.rule, "message": e.message} for e in outcome.errors]
        raise ApiError(_STATUS[outcome.stage], outcome.reason, {"stage": outcome.stage, "errors": errors})
    envelope = outcome.envelope
    await hub.ingest(raw, envelope.key)
    return ORJSONResponse({"id": str(envelope.id), "status": "accepted", "targets": list(outcome.targets)},
                          status_code=202)
