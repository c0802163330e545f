"""Data-sharing agreements REST: made, read, changed and ended by the operator; every change kept."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hub.control import agreements as rules
from hub.control.api.deps import HubDep, Operator
from hub.control.api.errors import ApiError
from hub.control.api.responses import JsonResponse
from hub.core.agreements import Agreement, AgreementId, Pointer, Purpose, Terms
from hub.core.envelope import MessageType

router = APIRouter(prefix="/agreements", tags=["agreements"])
Who = Field(min_length=1, max_length=200, description="Who makes the change (a name or staff code): kept in its history.")


class NewAgreement(Terms):
    id: AgreementId | None = Field(None, description="Chosen by the operator, else made from the consumer's id.")
    changed_by: str = Who


class AgreementChange(BaseModel):
    """New terms; what is left out stays. The parties do not change."""

    model_config = ConfigDict(extra="forbid")
    types: list[MessageType] | None = None
    fields: list[Pointer] | None = None
    purpose: Purpose | None = None
    legal_basis: str | None = None
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None
    changed_by: str = Who


class Ending(BaseModel):
    model_config = ConfigDict(extra="forbid")
    changed_by: str = Who


def shown(agreement: Agreement, now: float | None = None) -> dict[str, Any]:
    return {**agreement.model_dump(mode="json"), "in_force": agreement.in_force(time.time() if now is None else now)}


def _failed(exc: rules.AgreementError) -> ApiError:
    return ApiError(exc.status, str(exc), exc.details)


def _found(agreement: Agreement | None, agreement_id: str) -> Agreement:
    if agreement is None:
        raise ApiError(404, f"agreement {agreement_id!r} does not exist")
    return agreement


@router.post("", status_code=201, dependencies=[Operator], summary="Make a data-sharing agreement",
             responses={409: {"description": "Its id is taken, or another agreement governs the same deliveries"}})
async def create(body: NewAgreement, hub: HubDep) -> JsonResponse:
    terms = Terms.model_validate(body.model_dump(include=set(Terms.model_fields)))
    try:
        agreement = await rules.create(hub, terms, body.changed_by, body.id)
    except rules.AgreementError as exc:
        raise _failed(exc) from exc
    return JsonResponse(shown(agreement), status_code=201)


@router.get("", summary="Agreements, optionally by provider, consumer or whether in force")
async def listed(hub: HubDep, provider: str | None = None, consumer: str | None = None,
                 in_force: bool | None = None) -> JsonResponse:
    now = time.time()
    found = [shown(a, now) for a in hub.catalog.directory.agreements.by_id.values()
             if (provider is None or a.provider == provider) and (consumer is None or a.consumer == consumer)]
    return JsonResponse([a for a in found if in_force is None or a["in_force"] == in_force])


@router.get("/{agreement_id}", summary="One agreement as it stands", responses={404: {}})
async def read(agreement_id: str, hub: HubDep) -> JsonResponse:
    return JsonResponse(shown(_found(hub.catalog.directory.agreements.by_id.get(agreement_id), agreement_id)))


@router.get("/{agreement_id}/history", summary="Every version of an agreement: what changed, who, when",
            responses={404: {}})
async def history(agreement_id: str, hub: HubDep) -> JsonResponse:
    rows = await asyncio.to_thread(hub.store.agreement_history, agreement_id)
    if not rows:
        raise ApiError(404, f"agreement {agreement_id!r} does not exist")
    return JsonResponse([{"version": row["version"], "change": row["change"], "changed_by": row["changed_by"],
                          "changed_at": row["document"]["changed_at"], "agreement": row["document"]} for row in rows])


@router.patch("/{agreement_id}", dependencies=[Operator], summary="Change an agreement's terms (a new version)",
              responses={404: {}, 409: {"description": "It has ended, changed meanwhile, or would overlap another"}})
async def change(agreement_id: str, body: AgreementChange, hub: HubDep) -> JsonResponse:
    changes = body.model_dump(exclude_unset=True, exclude={"changed_by"})
    try:
        agreement = await rules.change(hub, agreement_id, changes, body.changed_by)
    except rules.AgreementError as exc:
        raise _failed(exc) from exc
    return JsonResponse(shown(_found(agreement, agreement_id)))


@router.post("/{agreement_id}/end", dependencies=[Operator], responses={404: {}},
             summary="End an agreement now: its deliveries are refused from the next message on")
async def end(agreement_id: str, body: Ending, hub: HubDep) -> JsonResponse:
    return JsonResponse(shown(_found(await rules.end(hub, agreement_id, body.changed_by), agreement_id)))
