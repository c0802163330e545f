from __future__ import annotations

from fastapi import APIRouter, Query

from hub.control.api.deps import HubDep, Operator

router = APIRouter(tags=["operations"])


@router.get("/refusals", dependencies=[Operator],
            summary="Refusals at authentication counted instead of kept in full, by client address, most first",
            description="Past LGSP_REFUSALS_BURST, then LGSP_REFUSALS_PER_MINUTE, an address's unauthenticated "
                        "refusals (unsigned, unknown or revoked credential, bad signature) are counted here, per "
                        "rule, with the first and last one's time, instead of kept on the DLQ and in the message "
                        "log. Refusals of authenticated senders are always kept in full. Per API process.")
async def refusals(hub: HubDep, limit: int = Query(20, ge=1, le=1000)) -> dict:
    return hub.refusals.view(limit)
