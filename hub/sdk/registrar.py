"""How a connector reaches the control plane: over HTTP, or in the hub's own process."""

from __future__ import annotations

from typing import Any, Protocol

import httpx


class RegistrationError(RuntimeError):
    pass


class Registrar(Protocol):
    async def bootstrap_servers(self) -> str: ...

    async def register(self, spec: dict[str, Any]) -> None: ...


class HttpRegistrar:
    """A connector in its own process: registers through `POST /v1/connectors`."""

    def __init__(self, hub_url: str) -> None:
        self._url = hub_url.rstrip("/")

    async def bootstrap_servers(self) -> str:
        async with httpx.AsyncClient(timeout=10) as client:
            return (await client.get(f"{self._url}/v1/health")).json()["broker"]["bootstrap_servers"]

    async def register(self, spec: dict[str, Any]) -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(f"{self._url}/v1/connectors", json=spec)
        if response.status_code >= 400:
            raise RegistrationError(f"hub refused registration of {spec['id']!r}: {response.text}")


class LocalRegistrar:
    """A connector running inside the hub process (the bundled stubs)."""

    def __init__(self, hub: Any) -> None:
        self._hub = hub

    async def bootstrap_servers(self) -> str:
        return self._hub.bootstrap_servers

    async def register(self, spec: dict[str, Any]) -> None:
        from hub.registry import RegistryError, register

        try:
            await register(self._hub, spec)
        except RegistryError as exc:
            raise RegistrationError(f"hub refused registration of {spec['id']!r}: {exc}") from exc
