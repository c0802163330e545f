"""The control plane: FastAPI application over a running Hub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hub.api import connectors, dead_letters, errors, health, messages, schemas
from hub.runtime import Hub
from hub.settings import Settings


def create_app(settings: Settings, with_router: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub = Hub(settings, with_router=with_router)
        await hub.start()
        app.state.hub = hub
        try:
            yield
        finally:
            await hub.stop()

    app = FastAPI(title="lgsp-hub", version="0.1.0", lifespan=lifespan,
                  description="Provincial integration and data-sharing platform (LGSP): control plane.")
    errors.install(app)
    for module in (health, messages, schemas, connectors, dead_letters):
        app.include_router(module.router, prefix="/v1")
    return app
