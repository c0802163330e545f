"""Data-sharing agreement rules, shared by the REST API and the province's declarations: validated against
the registry and the schemas, stored with every change, applied by this process's catalog at once (router
workers follow at their next batch, which reads the catalog version)."""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError

from hub.core.agreements import Agreement, Terms, unknown_member
from hub.core.errors import HubError
from hub.core.rejection import field_errors


class AgreementError(HubError, ValueError):
    """An agreement the hub refuses: `status` as HTTP would answer, `details` naming each field and rule."""

    def __init__(self, status: int, message: str, details: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status, self.details = status, details or []


def _refuse(status: int, problems: list[dict[str, str]]) -> AgreementError:
    first = problems[0]
    return AgreementError(status, f"{first['field']}: {first['message']} [rule: {first['rule']}]", problems)


def _problems(hub: Any, terms: Terms) -> list[dict[str, str]]:
    connectors, schemas = hub.catalog.directory.connectors, hub.catalog.schemas
    problems = terms.problems() + [
        {"field": side, "rule": "knownConnector", "message": f"{getattr(terms, side)!r} is not registered"}
        for side in ("provider", "consumer") if getattr(terms, side) not in connectors]
    known = set(schemas.types())
    problems += [{"field": f"types[{i}]", "rule": "knownType", "message": f"unknown message type {type!r}"}
                 for i, type in enumerate(terms.types) if type not in known]
    latest = {type: schemas.schema(type, max(schemas.versions(type))) for type in terms.types if type in known}
    for j, pointer in enumerate(terms.fields):  # one list for all its types: each field in one of them at least
        why = [f"{unknown} in {type}" for type, schema in latest.items()
               if (unknown := unknown_member(schema, pointer)) is not None]
        if latest and len(why) == len(latest):
            problems.append({"field": f"fields[{j}]", "rule": "knownField", "message": f"{pointer}: {'; '.join(why)}"})
    return problems


def _overlapping(hub: Any, terms: Terms, agreement_id: str) -> list[dict[str, str]]:
    """One agreement governs a delivery at a time: none other with the same parties and a common type may
    be in force over a common period."""
    return [{"field": "types", "rule": "oneAgreement",
             "message": f"agreement {other.id!r} already lets {terms.consumer!r} receive "
                        f"{', '.join(sorted(set(other.types) & set(terms.types)))} from {terms.provider!r} "
                        "over part of this period: change or end it instead"}
            for other in hub.catalog.directory.agreements.by_id.values()
            if other.id != agreement_id and other.overlaps(terms)]


def _terms(data: dict[str, Any] | Terms) -> Terms:
    try:
        return data if isinstance(data, Terms) else Terms.model_validate(data)
    except ValidationError as exc:
        raise _refuse(422, [e.as_dict() for e in field_errors(exc.errors(include_url=False))]) from exc


async def _store(hub: Any, agreement: Agreement, change: str, expected: int | None) -> Agreement:
    document = agreement.model_dump(mode="json")
    written = await asyncio.to_thread(hub.store.put_agreement, document, change, agreement.changed_by,
                                      agreement.changed_at, expected)
    if not written:
        raise AgreementError(409, f"agreement {agreement.id!r} changed meanwhile: read it again",
                             [{"field": "id", "rule": "currentVersion", "message": "another change came first"}])
    await asyncio.to_thread(hub.catalog.reload)
    return agreement


async def create(hub: Any, data: dict[str, Any] | Terms, by: str, agreement_id: str | None = None) -> Agreement:
    terms = _terms(data)
    await hub.catalog.fresh()  # another API process may have made one since: the checks read the store's
    agreement_id = agreement_id or f"{terms.consumer}.{secrets.token_hex(4)}"
    if agreement_id in hub.catalog.directory.agreements.by_id:
        raise AgreementError(409, f"agreement {agreement_id!r} exists: change it instead",
                             [{"field": "id", "rule": "newAgreement", "message": "the id is taken"}])
    problems = _problems(hub, terms)
    if problems:
        raise _refuse(422, problems)
    overlapping = _overlapping(hub, terms, agreement_id)
    if overlapping:
        raise _refuse(409, overlapping)
    agreement = Agreement(**terms.model_dump(), id=agreement_id, version=1, changed_at=_now(), changed_by=by)
    return await _store(hub, agreement, "created", None)


async def change(hub: Any, agreement_id: str, changes: dict[str, Any], by: str) -> Agreement | None:
    """New terms for an agreement in force (the parties stay); None when there is no such agreement."""
    await hub.catalog.fresh()
    current = hub.catalog.directory.agreements.by_id.get(agreement_id)
    if current is None:
        return None
    if current.ended_at is not None:
        raise AgreementError(409, f"agreement {agreement_id!r} has ended: make a new one",
                             [{"field": "id", "rule": "notEnded", "message": f"ended at {current.ended_at}"}])
    fixed = [name for name in ("provider", "consumer") if name in changes and changes[name] != getattr(current, name)]
    if fixed:
        raise _refuse(422, [{"field": name, "rule": "sameParties",
                             "message": "an agreement's parties do not change: end it and make another"}
                            for name in fixed])
    dropped = sorted(set(current.types) - set(changes.get("types", current.types)))
    if dropped:  # a type no agreement names any more would reach the consumer whole, as its grant says
        raise _refuse(422, [{"field": "types", "rule": "keepsTypes", "message": f"{', '.join(dropped)} would "
                             "no longer be governed: end the agreement and make another"}])
    terms = _terms({**current.model_dump(include=set(Terms.model_fields)), **changes})
    problems = _problems(hub, terms) or _overlapping(hub, terms, agreement_id)
    if problems:
        raise _refuse(422 if problems[0]["rule"] != "oneAgreement" else 409, problems)
    agreement = _revised(current, **terms.model_dump(), changed_at=_now(), changed_by=by)
    return await _store(hub, agreement, "changed", current.version)


async def end(hub: Any, agreement_id: str, by: str) -> Agreement | None:
    """Ended now: routing refuses its deliveries from the next message on. None when there is no such one."""
    current = hub.catalog.directory.agreements.by_id.get(agreement_id)
    if current is None:
        return None
    if current.ended_at is not None:
        return current
    at = _now()
    agreement = _revised(current, ended_at=at, changed_at=at, changed_by=by)
    return await _store(hub, agreement, "ended", current.version)


async def declare(hub: Any, agreement_id: str, data: dict[str, Any], by: str) -> Agreement:
    """An agreement a deployment declares at start (the province's): made once, changed when its terms
    differ, left alone otherwise."""
    current = hub.catalog.directory.agreements.by_id.get(agreement_id)
    if current is None:
        return await create(hub, data, by, agreement_id)
    terms = _terms(data)
    if current.ended_at is not None:  # the operator ended it: that stands
        return current
    if current.model_dump(include=set(Terms.model_fields)) == terms.model_dump():
        return current
    return await change(hub, agreement_id, terms.model_dump(), by) or current


def _revised(current: Agreement, **changes: Any) -> Agreement:
    """Its next version (built anew, not copied: a copy would keep what the current one worked out)."""
    return Agreement.model_validate({**current.model_dump(), **changes, "version": current.version + 1})


def _now() -> datetime:
    return datetime.now(timezone.utc)
