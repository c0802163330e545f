"""Connector registration rules, shared by the REST API and in-process connectors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
from pydantic import ValidationError

from hub.bus.topics import BrokerLink
from hub.control import agreements
from hub.core.credentials import Algorithm, Credential, issue
from hub.core.directory import ConnectorSpec
from hub.core.errors import HubError
from hub.core.inventory import Inventory
from hub.core.rejection import field_errors
from hub.sdk.registrar import RegistrationError


class RegistryError(HubError, ValueError):
    """A registration the hub refuses; `details` name each field and rule."""

    def __init__(self, message: str, details: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.details = details


def _problems(hub: Any, spec: ConnectorSpec) -> list[dict[str, str]]:
    known_types = set(hub.catalog.schemas.types())
    problems = [{"field": f"{side}[{i}]", "rule": "knownType", "message": f"unknown message type {t!r}"}
                for side in ("produces", "consumes") for i, t in enumerate(getattr(spec, side)) if t not in known_types]
    return problems + _unserved(spec) + _unknown_systems(hub.inventory, spec)


def _unserved(spec: ConnectorSpec) -> list[dict[str, str]]:
    """A service is answered through the provider's grants: it receives the request and publishes the reply."""
    problems, seen = [], set()
    for i, service in enumerate(spec.serves):
        if service.request in seen:
            problems.append({"field": f"serves[{i}].request", "rule": "uniqueService",
                             "message": f"{service.request} is served twice"})
        seen.add(service.request)
        if service.request not in spec.consumes:
            problems.append({"field": f"serves[{i}].request", "rule": "servedIsConsumed",
                             "message": f"serves {service.request} but does not consume it"})
        if service.reply not in spec.produces:
            problems.append({"field": f"serves[{i}].reply", "rule": "replyIsProduced",
                             "message": f"replies with {service.reply} but does not produce it"})
    return problems


def _unknown_systems(inventory: Inventory | None, spec: ConnectorSpec) -> list[dict[str, str]]:
    known = {system.id for system in inventory.systems} if inventory else set()
    where = f"the information-system inventory of {inventory.province.name}" if inventory else (
        "an inventory: none is loaded (LGSP_INVENTORY, or PUT /v1/inventory)")
    return [{"field": f"systems[{i}]", "rule": "knownSystem", "message": f"{s!r} is not in {where}"}
            for i, s in enumerate(spec.systems) if s not in known]


async def register(hub: Any, data: dict[str, Any] | ConnectorSpec) -> tuple[ConnectorSpec, bool]:
    """Validate and store a registration; same id again replaces it. Returns (spec, created)."""
    try:
        spec = data if isinstance(data, ConnectorSpec) else ConnectorSpec.model_validate(data)
    except ValidationError as exc:
        details = [e.as_dict() for e in field_errors(exc.errors(include_url=False, include_input=False))]
        raise RegistryError(f"{details[0]['field']}: {details[0]['message']}", details) from exc
    problems = _problems(hub, spec)
    if problems:
        raise RegistryError(problems[0]["message"], problems)
    await hub.admin.ensure([hub.topics.inbox(spec.id)])
    created = await asyncio.to_thread(hub.store.put_connector, spec.id, spec.model_dump())
    await asyncio.to_thread(hub.catalog.reload)
    if created:
        await announce(hub, spec.id, paused=False)
    return spec, created


async def set_grants(hub: Any, connector_id: str, produces: list[str], consumes: list[str]) -> ConnectorSpec | None:
    """Change what a connector may publish and receive; routing follows at the next message."""
    spec = await asyncio.to_thread(hub.store.connector, connector_id)
    if spec is None:
        return None
    updated, _ = await register(hub, {**spec, "produces": produces, "consumes": consumes})
    return updated


async def issue_credential(hub: Any, connector_id: str, algorithm: Algorithm = "ed25519",
                           public_key: str | None = None, grace_seconds: float | None = None,
                           ) -> tuple[Credential | None, dict[str, Any]]:
    """A new credential; the connector's earlier ones stay valid for the grace period, then expire."""
    credential, row = issue(connector_id, algorithm, public_key)
    grace = hub.settings.credential_grace_seconds if grace_seconds is None else grace_seconds
    retire_at = datetime.now(timezone.utc) + timedelta(seconds=grace)
    # Principals go before their rows: a failure leaves the row, which a retry or the sweep finds again.
    await hub.access.remove(await asyncio.to_thread(hub.store.expired_credential_ids, connector_id))
    login = await hub.access.grant_connector(connector_id, row["id"])
    try:
        await asyncio.to_thread(hub.store.add_credential, row, retire_at)
    except BaseException:
        await hub.access.remove([row["id"]])
        raise
    await asyncio.to_thread(hub.catalog.reload)
    return credential, {**row, "previous_expire_at": retire_at.isoformat(), "broker_login": login}


async def revoke_credential(hub: Any, connector_id: str, credential_id: str | None = None) -> bool:
    """Revoked at once: the broker refuses the credential's principal its next request, and this process
    reloads its keyring before returning; separate router workers follow at their next reload, within
    LGSP_REFRESH_SECONDS."""
    ids = await asyncio.to_thread(hub.store.credential_ids, connector_id, credential_id)
    await hub.access.remove(ids)  # first: should the broker fail, the credential is still there to revoke again
    gone = await asyncio.to_thread(hub.store.revoke_credentials, connector_id, credential_id)
    await asyncio.to_thread(hub.catalog.reload)
    return gone > 0


async def unregister(hub: Any, connector_id: str) -> bool:
    """Its credentials and their broker principals go; its inbox topic is kept."""
    await revoke_credential(hub, connector_id)
    if not await asyncio.to_thread(hub.store.delete_connector, connector_id):
        return False
    await asyncio.to_thread(hub.catalog.reload)
    return True


async def announce(hub: Any, connector_id: str, paused: bool) -> None:
    """Tell the connector its desired state on the control topic (it may run anywhere)."""
    value = orjson.dumps({"connector": connector_id, "paused": paused})
    await hub.producer.send_and_wait(hub.topics.control, value, key=connector_id.encode())


async def set_paused(hub: Any, connector_id: str, paused: bool) -> bool:
    if not await asyncio.to_thread(hub.store.set_paused, connector_id, paused):
        return False
    await announce(hub, connector_id, paused)
    return True


class LocalRegistrar:
    """Registration for a connector running inside the hub process (the KPI subscriber, a simulated
    province's stubs): the same rules as the API, and a fresh credential each start."""

    def __init__(self, hub: Any) -> None:
        self._hub = hub
        self._logins: dict[str, Any] = {}  # connector id → its broker principal's login

    @property
    def url(self) -> str:
        """The hub's API, which connectors reach over HTTP for attachments."""
        return self._hub.api_url

    async def broker(self, connector_id: str) -> BrokerLink:
        login = self._logins.get(connector_id)
        return self._hub.link.as_login(login) if login else self._hub.link

    async def agree(self, declared: Iterable[tuple[str, dict[str, Any]]], timeout: float = 120.0) -> None:
        """Put a deployment's data-sharing agreements (id, terms) in force once their parties are registered."""
        declared = list(declared)
        parties = {terms[side] for _, terms in declared for side in ("provider", "consumer")}
        deadline = time.monotonic() + timeout
        while missing := parties - self._hub.catalog.directory.connectors.keys():
            if time.monotonic() > deadline:
                raise RegistrationError(f"agreements name connectors never registered: {', '.join(sorted(missing))}")
            await asyncio.sleep(0.1)
        for agreement_id, terms in declared:
            await agreements.declare(self._hub, agreement_id, terms, "deployment")

    async def register(self, spec: dict[str, Any]) -> Credential:
        try:
            await register(self._hub, spec)
        except RegistryError as exc:
            raise RegistrationError(f"hub refused registration of {spec['id']!r}: {exc}") from exc
        # In the hub's own process the hub holds every key anyway: the cheaper HMAC loses nothing.
        credential, row = await issue_credential(self._hub, spec["id"], "hmac-sha256")
        self._logins[spec["id"]] = row["broker_login"]
        return credential
