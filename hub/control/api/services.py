"""The service catalog, and synchronous calls through the hub (after X-Road's listMethods / allowedMethods)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from hub.control.api.deps import HubDep, Operator, client_address
from hub.control.api.errors import ApiError
from hub.control.runtime import Hub
from hub.control.service_calls import Refused, TimedOut
from hub.core.credentials import (
    HTTP_CREDENTIAL_HEADER,
    HTTP_SIGNATURE_HEADER,
    HTTP_SIGNED_AT_HEADER,
    http_seal,
)
from hub.core.envelope import Envelope

router = APIRouter(prefix="/services", tags=["services"])


def _linked(service: dict) -> dict:
    provider, request, reply = service["provider"], service["request"], service["reply"]
    return {**service, "url": f"/v1/services/{provider}/{request}",
            "schemas": {"request": f"/v1/schemas/{request}/versions/latest",
                        "reply": f"/v1/schemas/{reply}/versions/latest"}}


@router.get("", responses={404: {"description": "The client is not registered"}},
            summary="Every service the hub's connectors answer; ?client= those one client may call",
            description="A client may call a service when it is registered to publish its request type and to "
                        "receive its reply type. Each entry links to its schemas and carries this API process's "
                        "figures of its calls (count, failures, p50/p99 latency).")
async def list_services(hub: HubDep, client: str | None = Query(None, description="A connector id")) -> list[dict]:
    services = hub.services.services()
    if client is not None:
        spec = hub.catalog.directory.connectors.get(client)
        if spec is None:
            raise ApiError(404, f"client {client!r} is not a registered connector", [
                {"field": "query.client", "rule": "registeredClient", "message": f"{client!r} is not registered"}])
        services = [s for s in services if s["request"] in spec.produces and s["reply"] in spec.consumes]
    return [_linked(service) for service in services]


@router.get("/calls", dependencies=[Operator], summary="The last calls through this API process, newest first",
            description="After X-Road's operational monitoring: request in/out and response in/out times, sizes, "
                        "whether it succeeded and the fault code.")
async def recent_calls(hub: HubDep, limit: int = Query(100, ge=1, le=1000)) -> list[dict]:
    return hub.services.recent(limit)


@router.post("/{provider}/{type}", summary="Call a service: the request routed to its provider, answered with its "
             "reply", description=f"The body is the request envelope (`target` the provider, `type` the service), "
             f"signed as on POST /v1/messages (`{HTTP_CREDENTIAL_HEADER}`, `{HTTP_SIGNATURE_HEADER}`, "
             f"`{HTTP_SIGNED_AT_HEADER}`), or only its payload, signed alike: the hub then makes the envelope, from the signer to the provider, and the "
             "router checks the signature over the payload it carries. The answer is the reply envelope as its "
             "provider signed it, with the provider's seal in the same headers.",
             responses={200: {"description": "The reply envelope"}, 403: {}, 404: {}, 413: {}, 422: {}, 503: {},
                        504: {"description": "The provider did not answer in time"}},
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": {"anyOf": [Envelope.model_json_schema(),
                                      {"type": "object", "title": "Payload", "description": "Only the payload"}]}}}}})
async def call(provider: str, type: str, request: Request, hub: HubDep,
               timeout: float | None = Query(None, gt=0, description="Seconds to wait for the reply (default "
                                             "LGSP_SERVICE_TIMEOUT_SECONDS, at most LGSP_SERVICE_TIMEOUT_MAX_SECONDS)"),
               version: int | None = Query(None, ge=1, description="The request schema's version, when the body is "
                                           "only the payload (default: the latest)"),
               ) -> Response:
    wait = _timeout(hub, timeout)
    raw = await request.body()  # hub.control.api.limits already answered 413 to a body over its limit
    if hub.broker_memory_exhausted():
        raise ApiError(503, "the hub's tansu broker reached LGSP_TANSU_MAX_RSS_MB; restart the hub or use Apache Kafka")
    seal = http_seal(request.headers)
    try:
        answer = await hub.services.call(provider, type, raw, seal, wait, version, client_address(request))
    except Refused as refused:
        rejection = refused.rejection
        errors = [{"field": e.field, "rule": e.rule, "message": e.message} for e in rejection.errors]
        raise ApiError(refused.status, rejection.reason, {"stage": rejection.stage, "errors": errors}) from None
    except TimedOut as exc:
        raise ApiError(504, str(exc), [{"field": "path.provider", "rule": "timeout", "message": str(exc)}],
                       ) from None
    headers = {**answer.seal, "Server-Timing": f"hub;dur={answer.seconds * 1000:.1f}"}
    return Response(answer.raw, media_type="application/json", headers=headers)


def _timeout(hub: Hub, given: float | None) -> float:
    most = hub.settings.service_timeout_max_seconds
    if given is not None and given > most:
        raise ApiError(422, f"timeout: at most {most:g} s (LGSP_SERVICE_TIMEOUT_MAX_SECONDS)", [
            {"field": "query.timeout", "rule": "maximum", "message": f"at most {most:g} seconds"}])
    return given if given is not None else hub.settings.service_timeout_seconds
