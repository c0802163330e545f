"""Connector registry REST, after Kafka Connect's /connectors resource."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Response
from fastapi.responses import ORJSONResponse

from hub import registry
from hub.api.deps import HubDep
from hub.api.errors import ApiError
from hub.directory import ConnectorSpec
from hub.runtime import Hub

router = APIRouter(prefix="/connectors", tags=["connectors"])


async def _spec(hub: Hub, connector_id: str) -> dict[str, Any]:
    spec = await asyncio.to_thread(hub.store.connector, connector_id)
    if spec is None:
        raise ApiError(404, f"connector {connector_id!r} is not registered")
    return spec


async def _status(hub: Hub, connector_id: str) -> dict[str, Any]:
    paused = connector_id in await asyncio.to_thread(hub.store.paused_connectors)
    return await hub.status.status(connector_id, paused)


@router.post("", status_code=201, summary="Register a connector (idempotent: the same id updates it)",
             responses={200: {"description": "Updated: a connector with this id was registered already",
                              "content": {"application/json": {"schema": {
                                  "$ref": "#/components/schemas/ConnectorSpec"}}}}})
async def register(spec: ConnectorSpec, hub: HubDep) -> ORJSONResponse:
    try:
        spec, created = await registry.register(hub, spec)
    except registry.RegistryError as exc:
        raise ApiError(422, str(exc), exc.details) from exc
    return ORJSONResponse(spec.model_dump(), status_code=201 if created else 200)


@router.get("", summary="Connector ids; ?expand=info or ?expand=status for more")
async def list_connectors(hub: HubDep, expand: Literal["info", "status"] | None = None) -> Any:
    specs = await asyncio.to_thread(hub.store.connectors)
    if expand == "info":
        return {spec["id"]: {"info": spec} for spec in specs}
    if expand == "status":  # the observer's view, at most a couple of seconds old
        known = hub.observer.statuses
        return {spec["id"]: {"status": known.get(spec["id"]) or await _status(hub, spec["id"])} for spec in specs}
    return [spec["id"] for spec in specs]


@router.get("/{connector_id}", summary="One connector's registration")
async def get_connector(connector_id: str, hub: HubDep) -> dict[str, Any]:
    return await _spec(hub, connector_id)


@router.get("/{connector_id}/status",
            summary="State (RUNNING / PAUSED / FAILED / UNREACHABLE), last heartbeat, inbox lag, last error")
async def get_status(connector_id: str, hub: HubDep) -> dict[str, Any]:
    await _spec(hub, connector_id)
    return await _status(hub, connector_id)


@router.put("/{connector_id}/pause", status_code=202, response_class=Response,
            summary="Pause: its messages wait in its inbox")
async def pause(connector_id: str, hub: HubDep) -> Response:
    if not await registry.set_paused(hub, connector_id, True):
        raise ApiError(404, f"connector {connector_id!r} is not registered")
    return Response(status_code=202)


@router.put("/{connector_id}/resume", status_code=202, response_class=Response, summary="Resume a paused connector")
async def resume(connector_id: str, hub: HubDep) -> Response:
    if not await registry.set_paused(hub, connector_id, False):
        raise ApiError(404, f"connector {connector_id!r} is not registered")
    return Response(status_code=202)


@router.delete("/{connector_id}", status_code=204, summary="Unregister a connector (its inbox topic is kept)")
async def delete_connector(connector_id: str, hub: HubDep) -> Response:
    if not await asyncio.to_thread(hub.store.delete_connector, connector_id):
        raise ApiError(404, f"connector {connector_id!r} is not registered")
    await asyncio.to_thread(hub.catalog.reload)
    return Response(status_code=204)
