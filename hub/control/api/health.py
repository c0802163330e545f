from __future__ import annotations

import asyncio

from fastapi import APIRouter

from hub.control.api.deps import HubDep
from hub.control.api.responses import JsonResponse

router = APIRouter(tags=["health"])


@router.get("/health", summary="Broker reachable, router running, store reachable",
            responses={503: {"description": "Degraded: a check failed (same body as 200)",
                             "content": {"application/json": {"schema": {"type": "object"}}}}})
async def health(hub: HubDep) -> JsonResponse:
    checks = {
        "broker": await hub.broker_reachable(),
        "router": hub.router_running() if hub.with_router else None,
        "store": await asyncio.to_thread(hub.store.ping),
    }
    healthy = all(ok is not False for ok in checks.values())
    body = {
        "status": "ok" if healthy else "degraded",
        "checks": checks,
        "broker": {**hub.broker_info.as_dict(), "topic_prefix": hub.topics.prefix,
                   "memory_exhausted": hub.broker_memory_exhausted()},
        "router": _router_stats(hub),
        "router_workers": hub.router_workers.view() if hub.router_workers else None,
        "replies": {"topic": hub.topics.replies, "partition": hub.services.replies.partition},
    }
    return JsonResponse(body, status_code=200 if healthy else 503)


def _router_stats(hub: HubDep) -> dict | None:
    if hub.router is None:
        return None
    stats = hub.router.stats
    return {"routed": stats.routed, "deliveries": stats.deliveries, "rejected": stats.rejected,
            "batches": stats.batches, "last_batch_at": stats.last_batch_at}
