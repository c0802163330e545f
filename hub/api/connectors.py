"""Connector registry REST, after Kafka Connect's /connectors resource."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Response
from fastapi.responses import ORJSONResponse

from hub.api.deps import HubDep
from hub.api.errors import ApiError
from hub.directory import ConnectorSpec, inbox_topic
from hub.runtime import Hub

router = APIRouter(prefix="/connectors", tags=["connectors"])


def _spec(hub: Hub, connector_id: str) -> dict[str, Any]:
    spec = hub.store.connector(connector_id)
    if spec is None:
        raise ApiError(404, f"connector {connector_id!r} is not registered")
    return spec


@router.post("", status_code=201, summary="Register a connector (idempotent: same id updates it)")
async def register(spec: ConnectorSpec, hub: HubDep) -> ORJSONResponse:
    known = set(hub.catalog.schemas.types())
    unknown = [{"field": f"{side}[{i}]", "rule": "knownType", "message": f"unknown message type {t!r}"}
               for side in ("produces", "consumes") for i, t in enumerate(getattr(spec, side)) if t not in known]
    if unknown:
        raise ApiError(422, unknown[0]["message"], unknown)
    await hub.admin.ensure([inbox_topic(spec.id)])
    created = await asyncio.to_thread(hub.store.put_connector, spec.id, spec.model_dump())
    await asyncio.to_thread(hub.catalog.reload)
    return ORJSONResponse(spec.model_dump(), status_code=201 if created else 200)


@router.get("", summary="Connector ids; ?expand=info for their registrations")
async def list_connectors(hub: HubDep, expand: Literal["info"] | None = None) -> Any:
    specs = await asyncio.to_thread(hub.store.connectors)
    if expand == "info":
        return {spec["id"]: {"info": spec} for spec in specs}
    return [spec["id"] for spec in specs]


@router.get("/{connector_id}", summary="One connector's registration")
async def get_connector(connector_id: str, hub: HubDep) -> dict[str, Any]:
    return await asyncio.to_thread(_spec, hub, connector_id)


@router.delete("/{connector_id}", status_code=204, summary="Unregister a connector (its inbox topic is kept)")
async def delete_connector(connector_id: str, hub: HubDep) -> Response:
    if not await asyncio.to_thread(hub.store.delete_connector, connector_id):
        raise ApiError(404, f"connector {connector_id!r} is not registered")
    await asyncio.to_thread(hub.catalog.reload)
    return Response(status_code=204)
