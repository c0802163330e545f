"""Connector registry REST, after Kafka Connect's /connectors resource."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from hub.control import registration
from hub.control.api.deps import HubDep, Operator
from hub.control.api.errors import ApiError
from hub.control.api.responses import JsonResponse
from hub.control.runtime import Hub
from hub.core.credentials import Algorithm, Credential
from hub.core.directory import ConnectorSpec
from hub.core.envelope import MessageType

router = APIRouter(prefix="/connectors", tags=["connectors"])


async def _spec(hub: Hub, connector_id: str) -> dict[str, Any]:
    spec = await asyncio.to_thread(hub.store.connector, connector_id)
    if spec is None:
        raise ApiError(404, f"connector {connector_id!r} is not registered")
    return spec


async def _status(hub: Hub, connector_id: str) -> dict[str, Any]:
    paused = connector_id in await asyncio.to_thread(hub.store.paused_connectors)
    return await hub.status.status(connector_id, paused)


class Grants(BaseModel):
    """What a connector may publish, and what it may receive."""

    model_config = ConfigDict(extra="forbid", strict=True)
    produces: list[MessageType]
    consumes: list[MessageType]


class CredentialRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    algorithm: Algorithm = "ed25519"
    public_key: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{43}=?$",
        description="Ed25519 public key (raw, base64url) when the connector keeps its private key itself; "
                    "no secret is returned then.")
    grace_seconds: float | None = Field(None, ge=0, le=30 * 86400, description="How long the connector's earlier "
                                        "credentials stay valid (default LGSP_CREDENTIAL_GRACE_SECONDS).")


def _shown_once(credential: Credential | None, row: dict[str, Any]) -> dict[str, Any]:
    shown = {"id": row["id"], "algorithm": row["algorithm"]}
    if credential is not None:  # the only time the secret is ever shown
        shown["value"] = str(credential)
    if row["broker_login"] is not None:  # its broker principal's, shown this once too
        shown["broker_credential"] = str(row["broker_login"])
    return shown


async def _issue(hub: Hub, connector_id: str, request: CredentialRequest) -> tuple[Credential | None, dict]:
    try:
        return await registration.issue_credential(hub, connector_id, request.algorithm, request.public_key,
                                               request.grace_seconds)
    except ValueError as exc:
        raise ApiError(422, f"public_key: {exc}", [{"field": "public_key", "rule": "ed25519PublicKey",
                                                   "message": str(exc)}]) from exc


@router.post("", status_code=201, dependencies=[Operator],
             summary="Register a connector; a new one gets its credential, shown this once",
             responses={200: {"description": "Updated: a connector with this id was registered already",
                              "content": {"application/json": {"schema": {
                                  "$ref": "#/components/schemas/ConnectorSpec"}}}}})
async def register(spec: ConnectorSpec, hub: HubDep) -> JsonResponse:
    try:
        spec, created = await registration.register(hub, spec)
    except registration.RegistryError as exc:
        raise ApiError(422, str(exc), exc.details) from exc
    if not created:
        return JsonResponse(spec.model_dump(), status_code=200)
    shown = _shown_once(*await _issue(hub, spec.id, CredentialRequest()))
    return JsonResponse({**spec.model_dump(), "credential": shown}, status_code=201)


@router.get("/{connector_id}/grants", summary="What a connector may publish and receive")
async def get_grants(connector_id: str, hub: HubDep) -> Grants:
    spec = await _spec(hub, connector_id)
    return Grants(produces=spec["produces"], consumes=spec["consumes"])


@router.put("/{connector_id}/grants", dependencies=[Operator],
            summary="Change what a connector may publish and receive; routing follows without a restart")
async def put_grants(connector_id: str, grants: Grants, hub: HubDep) -> Grants:
    try:
        spec = await registration.set_grants(hub, connector_id, grants.produces, grants.consumes)
    except registration.RegistryError as exc:
        raise ApiError(422, str(exc), exc.details) from exc
    if spec is None:
        raise ApiError(404, f"connector {connector_id!r} is not registered")
    return Grants(produces=spec.produces, consumes=spec.consumes)


@router.get("/{connector_id}/credentials", dependencies=[Operator],
            summary="A connector's valid credentials (ids, algorithm, expiry; never a secret)")
async def list_credentials(connector_id: str, hub: HubDep) -> list[dict[str, Any]]:
    await _spec(hub, connector_id)
    rows = await asyncio.to_thread(hub.store.credentials, connector_id)
    return [{"id": r["id"], "algorithm": r["algorithm"], "created_at": r["created_at"], "expires_at": r["expires_at"]}
            for r in rows]


@router.post("/{connector_id}/credentials", status_code=201, dependencies=[Operator], responses={404: {}},
             summary="Rotate: issue a new credential; the earlier ones stay valid for a grace period")
async def rotate_credential(connector_id: str, hub: HubDep, request: CredentialRequest | None = None) -> dict:
    await _spec(hub, connector_id)
    credential, row = await _issue(hub, connector_id, request or CredentialRequest())
    return {**_shown_once(credential, row), "previous_expire_at": row["previous_expire_at"]}


@router.delete("/{connector_id}/credentials/{credential_id}", status_code=204, response_class=Response,
               dependencies=[Operator], summary="Revoke a credential at once")
async def revoke_credential(connector_id: str, credential_id: str, hub: HubDep) -> Response:
    if not await registration.revoke_credential(hub, connector_id, credential_id):
        raise ApiError(404, f"connector {connector_id!r} has no credential {credential_id!r}")
    return Response(status_code=204)


@router.get("", summary="Connector ids; ?expand=info or ?expand=status for more")
async def list_connectors(hub: HubDep, expand: Literal["info", "status"] | None = None) -> Any:
    specs = await asyncio.to_thread(hub.store.connectors)
    if expand == "info":
        return {spec["id"]: {"info": spec} for spec in specs}
    if expand == "status":  # the observer's view, at most a couple of seconds old
        known = hub.observer.statuses
        return {spec["id"]: {"status": known.get(spec["id"]) or await _status(hub, spec["id"])} for spec in specs}
    return [spec["id"] for spec in specs]


@router.get("/{connector_id}", summary="One connector's registration")
async def get_connector(connector_id: str, hub: HubDep) -> dict[str, Any]:
    return await _spec(hub, connector_id)


@router.get("/{connector_id}/status",
            summary="State (RUNNING / PAUSED / FAILED / UNREACHABLE), last heartbeat, inbox lag, last error")
async def get_status(connector_id: str, hub: HubDep) -> dict[str, Any]:
    await _spec(hub, connector_id)
    return await _status(hub, connector_id)


@router.put("/{connector_id}/pause", status_code=202, dependencies=[Operator], response_class=Response,
            summary="Pause: its messages wait in its inbox")
async def pause(connector_id: str, hub: HubDep) -> Response:
    if not await registration.set_paused(hub, connector_id, True):
        raise ApiError(404, f"connector {connector_id!r} is not registered")
    return Response(status_code=202)


@router.put("/{connector_id}/resume", status_code=202, dependencies=[Operator], response_class=Response,
            summary="Resume a paused connector")
async def resume(connector_id: str, hub: HubDep) -> Response:
    if not await registration.set_paused(hub, connector_id, False):
        raise ApiError(404, f"connector {connector_id!r} is not registered")
    return Response(status_code=202)


@router.delete("/{connector_id}", status_code=204, dependencies=[Operator],
               summary="Unregister a connector: its credentials go, its inbox topic is kept")
async def delete_connector(connector_id: str, hub: HubDep) -> Response:
    if not await registration.unregister(hub, connector_id):
        raise ApiError(404, f"connector {connector_id!r} is not registered")
    return Response(status_code=204)
