"""The hub's public signing keys, as a JWK set (RFC 7517): receivers check projected messages with them."""

from __future__ import annotations

from fastapi import APIRouter

from hub.control.api.deps import HubDep
from hub.control.api.responses import JsonResponse

router = APIRouter(tags=["keys"])


@router.get("/keys", summary="The hub's Ed25519 public keys (JWK set): they verify what it projects under an agreement")
async def keys(hub: HubDep) -> JsonResponse:
    return JsonResponse({"keys": [hub.catalog.hub_key.jwk()]})
