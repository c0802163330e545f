from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from hub.control.api.deps import HubDep

router = APIRouter(prefix="/stats", tags=["operations"])


@router.get("/throughput", summary="Routed and rejected msg/s (and counts) with route latency p50/p95/p99 and the "
            "router's lag, last ten minutes, from the decisions topic; the router's lag now and whether it is behind "
            "(grew over LGSP_ROUTER_BEHIND_SECONDS); the log indexer's lag (decisions not in the message log yet)")
async def get_throughput(hub: HubDep) -> dict[str, Any]:
    observer = hub.observer
    return {"points": list(observer.throughput), "router_lag": observer.router_lag, "behind": observer.behind,
            "log_indexer": hub.log_indexer_view()}
