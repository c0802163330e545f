"""413 on any request body over its limit, declared or streamed, in the API's error shape."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI, Request

from hub.control.api import errors
from hub.control.api.limits import BodyLimit
from hub.settings import Settings

SETTINGS = Settings(max_message_bytes=2048, max_request_bytes=4096, max_attachment_bytes=8192)


def app() -> FastAPI:
    app = FastAPI()
    errors.install(app)
    app.add_middleware(BodyLimit, settings=SETTINGS)

    @app.post("/v1/messages")
    @app.post("/v1/services/{provider}/{type}")
    @app.post("/v1/schemas/{type}")
    @app.post("/v1/attachments")
    async def echo(request: Request) -> dict:
        return {"received": len(await request.body())}

    @app.get("/v1/health")
    async def health() -> dict:
        return {"ok": True}
    return app


async def chunks(size: int, piece: int = 512):
    """A chunked upload: no Content-Length, the body in pieces."""
    for start in range(0, size, piece):
        yield b"x" * min(piece, size - start)


@pytest.fixture
async def client():
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app()), base_url="http://hub") as client:
        yield client


@pytest.mark.parametrize("path, limit", [("/v1/messages", 2048), ("/v1/services/csdl-dan-cu/citizen.verify.request", 2048),
                                         ("/v1/schemas/dossier.submitted", 4096), ("/v1/attachments", 8192)])
@pytest.mark.parametrize("streamed", [False, True])
async def test_a_body_over_the_limit_is_refused_naming_the_limit(client, path, limit, streamed):
    body = chunks(limit + 1) if streamed else b"x" * (limit + 1)
    response = await client.post(path, content=body)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large" and str(limit) in error["message"]
    assert error["details"] == {"limit_bytes": limit}


@pytest.mark.parametrize("streamed", [False, True])
async def test_a_body_at_the_limit_reaches_the_route_whole(client, streamed):
    body = chunks(4096) if streamed else b"x" * 4096
    response = await client.post("/v1/schemas/dossier.submitted", content=body)
    assert response.status_code == 200 and response.json() == {"received": 4096}


async def test_the_message_limit_and_the_route_say_the_same(client):
    refused = (await client.post("/v1/messages", content=b"x" * 4000)).json()["error"]
    assert refused["message"] == "message larger than the limit of 2048 bytes"


async def test_requests_without_a_body_pass_untouched(client):
    assert (await client.get("/v1/health")).json() == {"ok": True}


async def test_a_client_gone_mid_body_never_reaches_the_route():
    """Half a message is no message: nothing is answered and the route is not called."""
    called, sent = [], []
    limit = BodyLimit(lambda *args: called.append(args), settings=SETTINGS)
    events = iter([{"type": "http.request", "body": b'{"id": "x"', "more_body": True}, {"type": "http.disconnect"}])

    async def receive():
        return next(events)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/messages", "headers": [(b"transfer-encoding", b"chunked")]}
    await limit(scope, receive, send)
    assert called == [] and sent == []
