"""A citizen's disclosures: which agencies received messages that carried their personal ID, which fields,
under which agreement (operator token: the answer is personal data)."""

from __future__ import annotations

import asyncio
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from hub.audit.disclosure_page import Lang, render_page
from hub.audit.disclosures import disclosures
from hub.control.api.deps import HubDep, Operator
from hub.control.api.errors import ApiError
from hub.control.runtime import Hub
from hub.core.personal_id import mask_text, problem

router = APIRouter(prefix="/people", tags=["people"])
Limit = Query(1000, ge=1, le=10_000, description="Messages, newest first")
Language = Query("vi", description="vi (Vietnamese) or en (English)")


def _checked(personal_id: str) -> str:
    if (broken := problem(personal_id)) is not None:
        raise ApiError(422, f"personal_id: personal ID {mask_text(broken)}", [
            {"field": "path.personal_id", "rule": "x-personal-id", "message": f"personal ID {mask_text(broken)}"}])
    return personal_id


def report(hub: Hub, personal_id: str, limit: int) -> dict[str, Any]:
    """The disclosures of one personal ID (given in clear by the caller, so answered in clear)."""
    records = hub.store.find_log(limit, hub.subject(personal_id), outcome="delivered")
    version = lru_cache(maxsize=None)(hub.store.agreement_version)
    rows = disclosures(records, hub.catalog.directory.connectors, version)
    # complete: False when the limit cut the oldest messages off (types logged in mode `none` are never listed)
    return {"personal_id": personal_id, "messages": len(records), "complete": len(records) < limit,
            "disclosures": rows}


@router.get("/{personal_id}/disclosures", dependencies=[Operator],
            summary="Every delivery of a message that carried this personal ID: when, to whom, which fields, "
                    "under which agreement")
async def person_disclosures(personal_id: str, hub: HubDep, limit: int = Limit) -> dict:
    return await asyncio.to_thread(report, hub, _checked(personal_id), limit)


def agency_names(hub: Hub) -> dict[str, str]:
    return {agency.code: agency.name for agency in hub.inventory.agencies} if hub.inventory else {}


@router.get("/{personal_id}/disclosures/page", dependencies=[Operator], response_class=HTMLResponse,
            summary="The same disclosures as a printable page for the citizen, in Vietnamese (default) or English")
async def person_disclosures_page(personal_id: str, hub: HubDep, lang: Lang = Language,
                                  limit: int = Limit) -> HTMLResponse:
    data = await asyncio.to_thread(report, hub, _checked(personal_id), limit)
    # personal data: no cache along the way keeps a copy
    return HTMLResponse(render_page(data, lang, agency_names(hub)), headers={"Cache-Control": "no-store"})
