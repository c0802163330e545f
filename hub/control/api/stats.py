from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from hub.control.api.deps import HubDep

router = APIRouter(prefix="/stats", tags=["operations"])


@router.get("/throughput", summary="Routed and rejected msg/s with route latency p50/p95, last ten minutes; "
            "the log indexer's lag (decisions not in the message log yet)")
async def get_throughput(hub: HubDep) -> dict[str, Any]:
    return {"points": list(hub.observer.throughput), "log_indexer": hub.log_indexer_view()}
