"""The control plane: FastAPI application over a running Hub."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from pydantic import SecretStr

from hub.control.api import (
    agreements,
    asyncapi,
    attachments,
    connectors,
    dead_letters,
    errors,
    health,
    inventory,
    keys,
    kpi,
    messages,
    people,
    refusals,
    schemas,
    services,
    stats,
)
from hub.control.api.limits import BodyLimit
from hub.control.runtime import Hub
from hub.operator.metrics import HubCollector
from hub.settings import Settings


def operator_token(settings: Settings) -> str:
    """The configured token, or a fresh one for this run (`lgsp-hub up` prints it)."""
    if settings.operator_token is None:
        settings.operator_token = SecretStr(secrets.token_urlsafe(24))
    return settings.operator_token.get_secret_value()


def create_app(settings: Settings, hub: Hub | None = None) -> FastAPI:
    """The API over `hub` (by default a hub alone, on the stored inventory), started and stopped with it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        running = hub or Hub(settings, with_router=settings.router)
        await running.start()
        app.state.hub = running
        app.state.indicators = CollectorRegistry()
        app.state.indicators.register(HubCollector(running))
        try:
            yield
        finally:
            await running.stop()

    app = FastAPI(title="lgsp-hub", version="0.1.0", lifespan=lifespan,
                  description="Provincial integration and data-sharing platform (LGSP): control plane.")
    app.state.operator_token = operator_token(settings)
    errors.install(app)
    app.add_middleware(BodyLimit, settings=settings)  # 413 on any body over its limit, before routes read it
    for module in (health, messages, attachments, services, schemas, asyncapi, connectors, agreements, keys, people,
                   inventory, dead_letters, kpi, stats, refusals):
        app.include_router(module.router, prefix="/v1")

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        body = generate_latest(REGISTRY) + generate_latest(app.state.indicators)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    async def dashboard() -> FileResponse:
        return FileResponse(DASHBOARD / "index.html")

    @app.get("/asyncapi", include_in_schema=False)
    async def asyncapi_page() -> FileResponse:
        return FileResponse(DASHBOARD / "asyncapi.html")

    app.mount("/dashboard", StaticFiles(directory=DASHBOARD), name="dashboard")
    return app


DASHBOARD = Path(__file__).resolve().parents[2] / "operator" / "dashboard"
