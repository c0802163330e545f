"""The province's inventory: agencies, information systems and the plan's targets, as the operator loaded it."""

from __future__ import annotations

from fastapi import APIRouter

from hub.control.api.deps import HubDep, Operator
from hub.control.api.errors import ApiError
from hub.core.inventory import Inventory

router = APIRouter(prefix="/inventory", tags=["inventory"])


@router.get("", summary="The inventory that the connectivity indicator counts and registrations bind")
async def get_inventory(hub: HubDep) -> Inventory:
    if hub.inventory is None:
        raise ApiError(404, "no inventory is loaded: PUT /v1/inventory, or start the hub with LGSP_INVENTORY")
    return hub.inventory


@router.put("", dependencies=[Operator], summary="Load the inventory; indicators count it from the next refresh")
async def put_inventory(inventory: Inventory, hub: HubDep) -> Inventory:
    await hub.use_inventory(inventory)
    return inventory
