"""The province's indicators as the pages show them: connectivity against its target, the dossier and document
indicators."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter

from hub.control.api.deps import HubDep
from hub.operator.kpi.display import connectivity_shown, documents_shown, dossiers_shown

router = APIRouter(prefix="/kpi", tags=["indicators"])


@router.get("/connectivity", summary="Share of citizen/business-facing systems connected, against the target")
async def get_connectivity(hub: HubDep) -> dict[str, Any]:
    return connectivity_shown(hub.observer.connectivity)


@router.get("/connectivity/history", summary="The connectivity share sampled on the simulated clock")
async def get_connectivity_history(hub: HubDep) -> dict[str, Any]:
    rows = await asyncio.to_thread(hub.observer.history)
    return {"target": hub.observer.connectivity.get("target"),
            "points": [{**row, "at": row["at"].isoformat()} for row in rows]}


@router.get("/dossiers", summary="Dossiers received, online share, on time vs late, signed results; per day and cumulative")
async def get_dossiers(hub: HubDep) -> dict[str, Any]:
    return dossiers_shown(hub.observer.dossiers)


@router.get("/dossiers/late", summary="Late dossiers to follow up, optionally for one agency")
async def get_late_dossiers(hub: HubDep, agency: str | None = None) -> dict[str, Any]:
    return await asyncio.to_thread(hub.observer.indicators.late, agency)


@router.get("/documents", summary="Documents between agencies sent electronically, per month and sender; processed "
            "after their due date, per receiving agency")
async def get_documents(hub: HubDep) -> dict[str, Any]:
    return documents_shown(hub.observer.documents)
