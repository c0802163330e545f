"""How a connector reaches the control plane and gets the credential it signs with."""

from __future__ import annotations

import os
from typing import Any, Protocol

import httpx

from hub.bus.topics import BrokerLink
from hub.core.credentials import Credential
from hub.core.errors import HubError


class RegistrationError(HubError, RuntimeError):
    pass


class Registrar(Protocol):
    async def broker(self) -> BrokerLink: ...

    async def register(self, spec: dict[str, Any]) -> Credential: ...


class HttpRegistrar:
    """A connector in its own process, in one of two ways:

    - provisioned: an operator registered it and handed over its credential (`credential`, or
      LGSP_CONNECTOR_CREDENTIAL); it runs with the grants the operator gave it;
    - self-registering (development): with the operator token (`token`, or LGSP_OPERATOR_TOKEN) it
      registers its own spec and takes a fresh credential, the earlier ones expiring after their grace.
    """

    def __init__(self, hub_url: str, token: str | None = None, credential: Credential | str | None = None) -> None:
        self._url = hub_url.rstrip("/")
        self._token = token or os.environ.get("LGSP_OPERATOR_TOKEN")
        given = credential or os.environ.get("LGSP_CONNECTOR_CREDENTIAL")
        self._credential = Credential.parse(given) if isinstance(given, str) else given

    async def broker(self) -> BrokerLink:
        async with httpx.AsyncClient(timeout=10) as client:
            return BrokerLink.from_health((await client.get(f"{self._url}/v1/health")).json())

    async def register(self, spec: dict[str, Any]) -> Credential:
        connector_id = spec["id"]
        if self._credential is not None and self._credential.id.rpartition(".")[0] == connector_id:
            return self._credential
        if not self._token:
            raise RegistrationError(f"connector {connector_id!r} has no credential: give LGSP_CONNECTOR_CREDENTIAL "
                                    "(issued when an operator registered it) or LGSP_OPERATOR_TOKEN")
        headers = {"Authorization": f"Bearer {self._token}"}
        async with httpx.AsyncClient(timeout=10, headers=headers) as client:
            response = await client.post(f"{self._url}/v1/connectors", json=spec)
            if response.status_code == 200:  # registered before: rotate to a credential this process knows
                response = await client.post(f"{self._url}/v1/connectors/{connector_id}/credentials")
        if response.status_code >= 400:
            raise RegistrationError(f"hub refused registration of {connector_id!r}: {response.text}")
        shown = response.json()
        return Credential.parse(shown.get("credential", shown)["value"])


class LocalRegistrar:
    """A connector running inside the hub process (the bundled stubs): a fresh credential each start."""

    def __init__(self, hub: Any) -> None:
        self._hub = hub

    async def broker(self) -> BrokerLink:
        return self._hub.link

    async def register(self, spec: dict[str, Any]) -> Credential:
        from hub.control.registration import RegistryError, issue_credential, register

        try:
            await register(self._hub, spec)
        except RegistryError as exc:
            raise RegistrationError(f"hub refused registration of {spec['id']!r}: {exc}") from exc
        # In the hub's own process the hub holds every key anyway: the cheaper HMAC loses nothing.
        credential, _ = await issue_credential(self._hub, spec["id"], "hmac-sha256")
        return credential
