from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub.control.api.errors import ApiError
from hub.control.runtime import Hub


def _hub(request: Request) -> Hub:
    return request.app.state.hub


HubDep = Annotated[Hub, Depends(_hub)]

_bearer = HTTPBearer(auto_error=False, scheme_name="operator",
                     description="The operator token (LGSP_OPERATOR_TOKEN): control-plane writes, personal data.")


def _operator(request: Request, given: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    expected = request.app.state.operator_token.encode()
    if given is None or not hmac.compare_digest(given.credentials.encode(), expected):
        raise ApiError(401, "this needs the operator token: Authorization: Bearer <LGSP_OPERATOR_TOKEN>",
                       [{"field": "header.Authorization", "rule": "operatorToken",
                         "message": "missing or wrong operator token"}])


Operator = Depends(_operator)  # in a route's `dependencies=[Operator]`


def client_address(request: Request) -> str | None:
    """The peer's address. X-Forwarded-For is not read: the hub names no proxy it trusts, and anyone may
    write the header (behind a proxy, every client has the proxy's address)."""
    return request.client.host if request.client else None
