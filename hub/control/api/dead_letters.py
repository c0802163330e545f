from __future__ import annotations

from fastapi import APIRouter, Query

from hub.control.api.deps import HubDep, Operator
from hub.core.rejection import Stage

router = APIRouter(tags=["dead letters"])


@router.get("/dlq/summary", summary="How many dead letters, per stage (no message content)")
async def summary(hub: HubDep) -> dict:
    return {"total": hub.dead_letters.total, "by_stage": dict(hub.dead_letters.by_stage)}


@router.get("/dlq", dependencies=[Operator],
            summary="Recent dead letters, newest first, with stage, reason and the original message (personal data)")
async def dead_letters(
    hub: HubDep,
    offset: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=500),
    stage: Stage | None = None,
) -> dict:
    tail = hub.dead_letters
    return {"total": tail.total, "offset": offset, "limit": limit, "items": tail.page(offset, limit, stage)}
