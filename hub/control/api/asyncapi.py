"""The hub's message contracts as an AsyncAPI document, from the catalog as it is now (registrations show at once)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from hub.control import asyncapi
from hub.control.api.deps import HubDep

router = APIRouter(tags=["schemas"])


@router.get("/asyncapi.json", summary="AsyncAPI 3.0 document: topics, operations and every message type's schema")
async def asyncapi_document(request: Request, hub: HubDep) -> dict[str, Any]:
    catalog = hub.catalog
    return asyncapi.document(hub.topics, catalog.schemas, catalog.directory, bootstrap_servers=hub.bootstrap_servers,
                             api_url=str(request.base_url), version=request.app.version)
