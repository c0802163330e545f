from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from hub.api.deps import HubDep

router = APIRouter(tags=["dead letters"])


@router.get("/dlq", summary="Recent dead letters, newest first, with stage and reason")
async def dead_letters(
    hub: HubDep,
    offset: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=500),
    stage: Literal["decode", "envelope", "schema", "routing", "handler"] | None = None,
) -> dict:
    tail = hub.dead_letters
    return {"total": tail.total, "offset": offset, "limit": limit, "items": tail.page(offset, limit, stage)}
