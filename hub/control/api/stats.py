from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter

from hub.control.api.deps import HubDep
from hub.operator.sharing import sharing_shown

router = APIRouter(prefix="/stats", tags=["operations"])


@router.get("/throughput", summary="Routed and rejected msg/s (and counts) with route latency p50/p95/p99 and the "
            "router's lag, last ten minutes, from the decisions topic; the router's lag now and whether it is behind "
            "(grew over LGSP_ROUTER_BEHIND_SECONDS); the log indexer's lag (decisions not in the message log yet)")
async def get_throughput(hub: HubDep) -> dict[str, Any]:
    observer = hub.observer
    return {"points": list(observer.throughput), "router_lag": observer.router_lag, "behind": observer.behind,
            "log_indexer": hub.log_indexer_view()}


@router.get("/agreements", summary="Per connector, its data-sharing agreements as consumer and as provider, in force "
            "or not (ended, expired, pending), and the deliveries withheld from it for want of one in force since "
            "`counted_since`, from the decisions topic; rows in display order, those with deliveries withheld first")
async def get_agreements(hub: HubDep) -> dict[str, Any]:
    directory, watch = hub.catalog.directory, hub.observer.routing
    shown = sharing_shown(directory.connectors, directory.agreements.by_id.values(),
                          watch.withheld if watch else {}, time.time())
    return {**shown, "counted_since": watch.since if watch else None}
