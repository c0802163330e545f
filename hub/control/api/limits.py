"""Request bodies above a limit are refused with 413 before any route reads them.

Pure ASGI, so it sees the body as it arrives: a declared Content-Length over the limit is refused at once,
and a chunked upload is counted while it streams and refused as soon as it passes the limit, without
holding more than the limit in memory. A message (POST /v1/messages, and a call's request on POST
/v1/services/{provider}/{type}) has the message limit (LGSP_MAX_MESSAGE_BYTES, which the router also
checks), an attachment (POST /v1/attachments) LGSP_MAX_ATTACHMENT_BYTES, every other path LGSP_MAX_REQUEST_BYTES.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from hub.control.api.errors import error_response
from hub.core.attachments import PATH as ATTACHMENTS_PATH
from hub.settings import Settings

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

MESSAGES_PATH = "/v1/messages"
SERVICES_PATH = "/v1/services/"


class BodyLimit:
    def __init__(self, app: App, settings: Settings) -> None:
        self.app, self.settings = app, settings

    def limit(self, scope: Scope) -> tuple[int, str]:
        """The limit of this request, and what the refusal calls its body."""
        path = scope["path"].rstrip("/")
        if scope["method"] == "POST" and (path == MESSAGES_PATH or path.startswith(SERVICES_PATH)):
            return self.settings.max_message_bytes, "message"
        if scope["method"] == "POST" and path == ATTACHMENTS_PATH:
            return self.settings.max_attachment_bytes, "attachment"
        return self.settings.max_request_bytes, "request body"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        limit, what = self.limit(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit, what)
            return
        body = await _read_within(receive, limit)
        if body is _GONE:
            return  # the client went away mid-body: nothing to answer, and half a message is no message
        if body is None:
            await _refuse(send, limit, what)
            return
        await self.app(scope, _replay(body, receive), send)


def _has_body(scope: Scope) -> bool:
    """HTTP/1.1: a request has a body only when it declares a length or a transfer coding."""
    return any(name in (b"content-length", b"transfer-encoding") for name, _ in scope["headers"])


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length before we are called
    return None


_GONE = b"\x00gone"  # sentinel: the client disconnected before the body ended


async def _read_within(receive: Receive, limit: int) -> bytes | None:
    """The whole body, None as soon as more than `limit` bytes came (a chunked upload says no length),
    or _GONE when the client left first."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return _GONE
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read already, handed over in one piece; then the connection's own events (a disconnect)."""
    delivered = False

    async def replayed() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return replayed


async def _refuse(send: Send, limit: int, what: str) -> None:
    response = error_response(413, "payload_too_large", f"{what} larger than the limit of {limit} bytes",
                              {"limit_bytes": limit}, headers={"Connection": "close"})
    await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})
