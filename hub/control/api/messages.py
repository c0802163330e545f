"""HTTP ingress: the same checks as the router, answered at once; refusals are kept on the DLQ."""

from __future__ import annotations

import asyncio
import time

import orjson
from fastapi import APIRouter, Query, Request

from hub.control.api.deps import HubDep, Operator, client_address
from hub.control.api.errors import ApiError
from hub.control.api.responses import JsonResponse
from hub.core.credentials import (
    HTTP_CREDENTIAL_HEADER,
    HTTP_SIGNATURE_HEADER,
    HTTP_SIGNED_AT_HEADER,
    http_seal,
    seal_headers,
)
from hub.core.envelope import Envelope
from hub.core.personal_id import mask, mask_text, problem
from hub.core.rejection import Rejection
from hub.core.routing import route

router = APIRouter(tags=["messages"])

_STATUS = {"auth": 403, "decode": 400, "envelope": 422, "schema": 422, "routing": 422}
_CONFLICT = "notReplayed"  # 409: the message was accepted before (a client that retried learns it went through)


def status_of(rejection: Rejection) -> int:
    return 409 if rejection.errors[0].rule == _CONFLICT else _STATUS[rejection.stage]


@router.post("/messages", status_code=202, summary="Publish one message (an envelope), signed by its source",
             description=f"Sign the exact body and the signing time with the source connector's credential and "
                         f"send the credential id, signature and time (Unix seconds) in the "
                         f"`{HTTP_CREDENTIAL_HEADER}`, `{HTTP_SIGNATURE_HEADER}` and `{HTTP_SIGNED_AT_HEADER}` "
                         "headers. A message accepted once is refused again (409, `notReplayed`).",
             responses={400: {}, 403: {}, 409: {}, 413: {}, 422: {}, 503: {}},
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": Envelope.model_json_schema()}}}})
async def publish(request: Request, hub: HubDep) -> JsonResponse:
    raw = await request.body()  # hub.control.api.limits already answered 413 to a body over LGSP_MAX_MESSAGE_BYTES
    if hub.broker_memory_exhausted():
        raise ApiError(503, "the hub's tansu broker reached LGSP_TANSU_MAX_RSS_MB; restart the hub or use Apache Kafka")
    seal, catalog, now = http_seal(request.headers), hub.catalog, time.time()
    outcome = hub.unreplayed(route(raw, catalog.schemas, catalog.directory, hub.settings.max_message_bytes,
                                   catalog.keyring, seal, now, max_age=hub.settings.signature_max_age_seconds),
                             seal, now)
    if isinstance(outcome, Rejection):
        await hub.keep_refused(raw, outcome, client_address(request))  # the same answer, kept in full or counted
        errors = [{"field": e.field, "rule": e.rule, "message": e.message} for e in outcome.errors]
        raise ApiError(status_of(outcome), outcome.reason, {"stage": outcome.stage, "errors": errors})
    envelope = outcome.envelope
    try:
        await hub.ingest(raw, envelope.key, seal_headers(*seal))  # the router checks the signature again
    except BaseException:
        hub.replays.forget(envelope)  # not accepted: the client's retry is no replay
        raise
    answer = {"id": str(envelope.id), "status": "accepted", "targets": list(outcome.targets)}
    if outcome.withheld:  # refused for those consumers alone (no agreement in force), and kept
        answer["withheld"] = {w.consumer: w.reason for w in outcome.withheld}
    return JsonResponse(answer, status_code=202)


@router.get("/messages/{message_id}", dependencies=[Operator],
            summary="What the hub decided about one message (message log)")
async def get_message(message_id: str, hub: HubDep) -> dict:
    records = await asyncio.to_thread(hub.store.find_log, 100, message_id=message_id)
    if not records:
        raise ApiError(404, f"no routing decision logged for message {mask_text(message_id)!r}")
    return {"message_id": message_id, "decisions": [shown(record) for record in records]}


@router.get("/messages", dependencies=[Operator],
            summary="Search the message log by correlation id, ordering key, dossier code or personal ID")
async def find_messages(
        hub: HubDep, correlation_id: str | None = None, key: str | None = None,
        dossier_code: str | None = Query(None, description="MaHoSo, the ordering key of dossier.* messages"),
        personal_id: str | None = Query(None, description="A personal ID the message carried (12 digits): "
                                        "found by its keyed hash, shown masked"),
        limit: int = Query(100, ge=1, le=1000)) -> dict:
    given = {"correlation_id": correlation_id, "key": key, "dossier_code": dossier_code, "personal_id": personal_id}
    criteria = {name: value for name, value in given.items() if value is not None and value != ""}
    if not criteria:
        raise ApiError(422, f"give one of {', '.join(given)}", [
            {"field": "query", "rule": "oneRequired", "message": f"one of {', '.join(given)} is required"}])
    subject = hub.subject(checked_personal_id(personal_id)) if personal_id is not None else None
    if key and dossier_code and key != dossier_code:
        records = []  # one key column: a record cannot match two different keys
    else:
        equals = {"correlation_id": correlation_id, "key": key or dossier_code}
        records = await asyncio.to_thread(hub.store.find_log, limit, subject,
                                          **{name: value for name, value in equals.items() if value})
    return {"criteria": {name: _masked_criterion(name, value) for name, value in criteria.items()},
            "decisions": [shown(record) for record in records]}


def checked_personal_id(value: str) -> str:
    if (broken := problem(value)) is not None:
        raise ApiError(422, f"personal_id: personal ID {mask_text(broken)}", [
            {"field": "query.personal_id", "rule": "x-personal-id", "message": f"personal ID {mask_text(broken)}"}])
    return value


def _masked_criterion(name: str, value: str) -> str:
    return mask(value) if name == "personal_id" else mask_text(value)


_PEOPLE_TEXT = ("key", "reason", "field", "payload")  # where a personal ID may be: never answered in clear


def shown(record: dict) -> dict:
    """A log record as answered: ID numbers masked; the payload only when its type is logged in full."""
    shown = {name: mask_text(value) if name in _PEOPLE_TEXT and value else value for name, value in record.items()}
    if shown.get("payload") is None:
        shown.pop("payload", None)
    if shown.get("sharing"):  # kept as JSON text: answered as the object it is
        shown["sharing"] = orjson.loads(shown["sharing"])
    return shown
