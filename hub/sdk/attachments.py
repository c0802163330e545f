"""A connector's side of attachments (hub.core.attachments): upload a file, fetch one it was sent.

Both are signed with the connector's credential: an upload over its bytes, a fetch over
`fetch_request(id)`. A receiver handles a message as soon as the hub delivers it, while the message log
that grants the fetch is written a moment later: a fetch answered 404 `notReferenced` is asked again for
`wait` seconds before it fails. A hub not listening (yet, or while it restarts) is asked again for
`CONNECT_SECONDS`: a refused connection sent nothing, so an upload is not stored twice. One HTTP client
serves every request (a client made per request costs a TLS context each, and its retries would starve the loop).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from hub.core.attachments import NAME_HEADER, PATH, SHA256_HEADER, encoded_name, fetch_request, is_id
from hub.core.credentials import Credential
from hub.core.errors import HubError

NOT_REFERENCED = "notReferenced"
TIMEOUT_SECONDS = 120.0  # a 32 MiB body over a slow link
CONNECT_SECONDS = 30.0


class AttachmentError(HubError, RuntimeError):
    """The hub refused an upload or fetch (`status`, and `rule` from its answer), or the bytes are not the
    ones expected."""

    def __init__(self, message: str, status: int | None = None, rule: str | None = None) -> None:
        super().__init__(message)
        self.status, self.rule = status, rule


class NotReferencedYet(AttachmentError):
    pass


class AttachmentClient:
    def __init__(self, hub_url: str, credential: Credential, timeout: float = TIMEOUT_SECONDS,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url, self.credential = hub_url.rstrip("/"), credential
        # No keep-alive: a file goes now and then, and a kept connection the server closes idle (uvicorn: after
        # 5 s) fails the next request sent on it with a ReadError, which an upload may not safely repeat.
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport,
                                       limits=httpx.Limits(max_keepalive_connections=0))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def upload(self, data: bytes, content_type: str, name: str) -> dict[str, Any]:
        """The hub's answer: id, sha256, size, content_type, name."""
        response = await self._send("POST", PATH, data, lambda: {
            "Content-Type": content_type, NAME_HEADER: encoded_name(name), **self.credential.http_headers(data)})
        _raise_for(response, "upload")
        return response.json()

    async def fetch(self, attachment_id: str, sha256: str | None = None, wait: float = 60.0) -> bytes:
        """The attachment's bytes, checked against the SHA-256 the hub answers and, given, the one expected."""
        if not is_id(attachment_id):
            raise AttachmentError(f"{attachment_id!r} is not an attachment id (lgsp-att-<32 hex>)")
        async for attempt in _again(NotReferencedYet, wait):
            with attempt:
                response = await self._get(attachment_id)
        return _checked(attachment_id, response, sha256)

    async def _get(self, attachment_id: str) -> httpx.Response:
        response = await self._send("GET", f"{PATH}/{attachment_id}", None,
                                    lambda: self.credential.http_headers(fetch_request(attachment_id)))
        _raise_for(response, f"fetch of {attachment_id}")
        return response

    async def _send(self, method: str, path: str, body: bytes | None,
                    headers: Callable[[], dict[str, str]]) -> httpx.Response:
        """The answer, asking again while the hub does not listen; `headers` signs anew at each attempt."""
        async for attempt in _again(httpx.ConnectError, CONNECT_SECONDS):
            with attempt:
                return await self._http.request(method, f"{self.url}{path}", content=body, headers=headers())
        raise AssertionError("unreachable: the last attempt re-raises")


def _again(errors: type[Exception] | tuple[type[Exception], ...], seconds: float) -> AsyncRetrying:
    return AsyncRetrying(retry=retry_if_exception_type(errors), reraise=True, stop=stop_after_delay(seconds),
                         wait=wait_exponential(0.1, max=2.0))


def _raise_for(response: httpx.Response, what: str) -> None:
    if response.is_success:
        return
    try:
        error = response.json()["error"]
        message, details = error["message"], error.get("details") or {}
        rule = details["errors"][0]["rule"] if isinstance(details, dict) and details.get("errors") else None
    except (ValueError, KeyError, TypeError, IndexError):
        message, rule = response.text[:200], None
    kind = NotReferencedYet if response.status_code == 404 and rule == NOT_REFERENCED else AttachmentError
    raise kind(f"the hub refused the {what} ({response.status_code}): {message}", response.status_code, rule)


def _checked(attachment_id: str, response: httpx.Response, expected: str | None) -> bytes:
    data = response.content
    digest = hashlib.sha256(data).hexdigest()
    answered = response.headers.get(SHA256_HEADER)
    for claimed, whose in ((answered, "the hub's"), (expected, "the expected")):
        if claimed is not None and claimed.lower() != digest:
            raise AttachmentError(f"{attachment_id}: the bytes received hash to {digest}, not {whose} {claimed}")
    return data
