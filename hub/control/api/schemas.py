"""Schema registry REST, after Confluent Schema Registry's subjects/versions/compatibility."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from hub.control.api.deps import HubDep, Operator
from hub.control.api.errors import ApiError
from hub.core.envelope import MessageType
from hub.core.schemas.registry import Incompatible, InvalidSchema, UnknownType, UnknownVersion

router = APIRouter(prefix="/schemas", tags=["schemas"])


class SchemaBody(BaseModel):
    schema_: dict[str, Any] = Field(alias="schema", description="A JSON Schema document (draft 2020-12).")


def _versions(hub: Any, type: str) -> list[int]:
    try:
        return hub.catalog.schemas.versions(type)
    except UnknownType as exc:
        raise ApiError(404, str(exc)) from exc


@router.get("", summary="Message types with their versions")
async def list_types(hub: HubDep) -> list[dict[str, Any]]:
    registry = hub.catalog.schemas
    return [{"type": t, "versions": registry.versions(t), "latest": max(registry.versions(t))} for t in registry.types()]


@router.get("/{type}/versions", summary="Versions of one message type")
async def list_versions(type: str, hub: HubDep) -> list[int]:
    return _versions(hub, type)


@router.get("/{type}/versions/{version}", summary="The JSON Schema of one version ('latest' allowed)")
async def get_version(type: str, version: Annotated[str, Path(pattern=r"^(latest|0*[1-9][0-9]{0,17})$")],
                      hub: HubDep) -> dict[str, Any]:
    number = max(_versions(hub, type)) if version == "latest" else _parse_version(version)
    try:
        return hub.catalog.schemas.schema(type, number)
    except (UnknownType, UnknownVersion) as exc:  # schema() raises UnknownType for an unknown type
        raise ApiError(404, str(exc)) from exc


@router.post("/{type}/compatibility", summary="Dry run: would this schema be accepted as the next version?")
async def check_compatibility(type: MessageType, body: SchemaBody, hub: HubDep) -> dict[str, Any]:
    try:
        changes = hub.catalog.schemas.check(type, body.schema_)
    except InvalidSchema as exc:
        raise ApiError(422, str(exc)) from exc
    return {"is_compatible": not changes, "messages": changes}


@router.post("/{type}/versions", dependencies=[Operator], summary="Register the next version (backward compatible only)",
             responses={409: {"description": "Not backward compatible with the latest version"}})
async def register_version(type: MessageType, body: SchemaBody, hub: HubDep) -> dict[str, Any]:
    registry = hub.catalog.schemas
    same = registry.version_of(type, body.schema_)
    if same is not None:  # registering an identical schema again is idempotent
        return {"type": type, "version": same, "created": False}
    try:
        version = registry.next_version(type, body.schema_)
    except InvalidSchema as exc:
        raise ApiError(422, str(exc)) from exc
    except Incompatible as exc:
        raise ApiError(409, str(exc), {"breaking_changes": exc.changes}, code="incompatible") from exc
    try:
        await asyncio.to_thread(hub.store.add_schema_version, type, version, body.schema_)
    except sa.exc.IntegrityError as exc:
        raise ApiError(409, f"{type} version {version} was registered concurrently; retry") from exc
    registry.put(type, version, body.schema_)
    return {"type": type, "version": version, "created": True}


_VERSION = re.compile(r"0*[1-9][0-9]{0,17}")  # ASCII digits only: "²".isdigit() is true but int("²") raises


def _parse_version(version: str) -> int:
    if not _VERSION.fullmatch(version):
        raise ApiError(422, f"version must be a positive integer (at most 18 digits) or 'latest', "
                            f"not {version[:40]!r}", {"field": "version", "rule": "positiveInteger"})
    return int(version)
