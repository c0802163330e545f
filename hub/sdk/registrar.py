"""How a connector reaches the control plane and gets the credential it signs with."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import httpx

from hub.bus.topics import BrokerLink
from hub.core.credentials import Credential
from hub.core.errors import HubError
from hub.core.hub_signature import HubKeys
from hub.sdk.settings import ClientSettings


class RegistrationError(HubError, RuntimeError):
    pass


class Registrar(Protocol):
    # and, optionally, `url`: the hub's API, for what a connector asks over HTTP (attachments)
    async def broker(self, connector_id: str) -> BrokerLink: ...  # as that connector's principal

    async def register(self, spec: dict[str, Any]) -> Credential: ...


class RegistrationClient:
    """The hub's registration endpoints over HTTP, as the operator: the one client that registers connectors
    (HttpRegistrar, the pytest plugin, the tests). Blocking; HttpRegistrar calls it in a thread, once a start.
    A refusal raises httpx.HTTPStatusError."""

    def __init__(self, hub_url: str, token: str | None = None, timeout: float = 10) -> None:
        self.url = hub_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._options = {"timeout": timeout, "headers": headers}

    def broker(self, credential: str | None = None) -> BrokerLink:
        """The hub's broker address and topic namespace, from `GET /v1/health`, as the principal of the broker
        `credential` ('username:password'; a broker without ACLs takes anyone)."""
        health = httpx.get(f"{self.url}/v1/health", timeout=self._options["timeout"]).json()
        security = health["broker"].get("security")
        if security and not credential:
            raise RegistrationError(f"the hub's broker takes {security['mechanism']} logins only: give the broker "
                                    "credential issued with the connector's (LGSP_BROKER_CREDENTIAL)")
        return BrokerLink.from_health(health, credential)

    def hub_keys(self) -> HubKeys:
        """The hub's public signing keys (`GET /v1/keys`): give them to a Connector (`hub_keys=`) to check
        what the hub projects under agreements. Fetched over the channel that reaches the hub: pin them in
        configuration where that channel is not trusted."""
        return HubKeys.of(httpx.get(f"{self.url}/v1/keys", timeout=self._options["timeout"]).raise_for_status().json())

    def register(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Register (or replace) a connector: the hub's answer, which for a new connector holds its credential
        (`["credential"]["value"]`), shown this once."""
        with httpx.Client(**self._options) as client:
            return self._register(client, spec).json()

    def enrol(self, spec: dict[str, Any]) -> tuple[Credential, str | None]:
        """Register (or replace) a connector and take a credential to sign with, and its broker credential
        (None on a broker without ACLs). One registered before gets new ones (its first were shown only
        once; the earlier ones expire after their grace)."""
        with httpx.Client(**self._options) as client:
            response = self._register(client, spec)
            if response.status_code == 200:  # registered before: rotate to a credential this process knows
                response = client.post(f"{self.url}/v1/connectors/{spec['id']}/credentials").raise_for_status()
        shown = response.json()
        shown = shown.get("credential", shown)
        return Credential.parse(shown["value"]), shown.get("broker_credential")

    def _register(self, client: httpx.Client, spec: dict[str, Any]) -> httpx.Response:
        return client.post(f"{self.url}/v1/connectors", json=spec).raise_for_status()


class HttpRegistrar:
    """A connector in its own process, in one of two ways:

    - provisioned: an operator registered it and handed over its credential (`credential`, or
      LGSP_CONNECTOR_CREDENTIAL); it runs with the grants the operator gave it;
    - self-registering (development): with the operator token (`token`, or LGSP_OPERATOR_TOKEN) it
      registers its own spec and takes a fresh credential, the earlier ones expiring after their grace.

    The environment variables are read through `settings` (by default ClientSettings()).
    """

    def __init__(self, hub_url: str, token: str | None = None, credential: Credential | str | None = None,
                 settings: ClientSettings | None = None, broker_credential: str | None = None) -> None:
        settings = settings or ClientSettings()
        self._url = hub_url.rstrip("/")
        self._token = token or settings.token
        given = credential or settings.credential
        self._credential = Credential.parse(given) if isinstance(given, str) else given
        self._broker_credentials: dict[str, str | None] = {}  # connector id → 'username:password'
        if self._credential is not None:
            given_id = self._credential.id.rpartition(".")[0]
            self._broker_credentials[given_id] = broker_credential or settings.broker_secret

    @property
    def url(self) -> str:
        """The hub's API, which the connector reaches over HTTP for attachments."""
        return self._url

    async def broker(self, connector_id: str) -> BrokerLink:
        credential = self._broker_credentials.get(connector_id)
        return await asyncio.to_thread(RegistrationClient(self._url).broker, credential)

    async def register(self, spec: dict[str, Any]) -> Credential:
        connector_id = spec["id"]
        if self._credential is not None and self._credential.id.rpartition(".")[0] == connector_id:
            return self._credential
        if not self._token:
            raise RegistrationError(f"connector {connector_id!r} has no credential: give LGSP_CONNECTOR_CREDENTIAL "
                                    "and LGSP_BROKER_CREDENTIAL (issued when an operator registered it) or "
                                    "LGSP_OPERATOR_TOKEN")
        try:
            credential, broker_credential = await asyncio.to_thread(
                RegistrationClient(self._url, self._token).enrol, spec)
        except httpx.HTTPStatusError as exc:
            raise RegistrationError(f"hub refused registration of {connector_id!r}: {exc.response.text}") from exc
        self._broker_credentials[connector_id] = broker_credential
        return credential
