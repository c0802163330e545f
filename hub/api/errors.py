"""Errors as JSON `{"error": {"code", "message", "details"}}` with the right status."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import ORJSONResponse
from starlette.exceptions import HTTPException

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict",
          413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_failed", 503: "unavailable"}


class ApiError(Exception):
    def __init__(self, status: int, message: str, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.details = status, message, details
        self.code = code or _CODES.get(status, "error")


def error_response(status: int, code: str, message: str, details: Any = None) -> ORJSONResponse:
    return ORJSONResponse({"error": {"code": code, "message": message, "details": details}}, status_code=status)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> ORJSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> ORJSONResponse:
        details = [{"field": ".".join(map(str, err["loc"])), "rule": err["type"], "message": err["msg"]}
                   for err in exc.errors()]
        first = details[0] if details else {"field": "body", "message": "invalid request"}
        return error_response(422, "validation_failed", f"{first['field']}: {first['message']}", details)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> ORJSONResponse:
        return error_response(exc.status_code, _CODES.get(exc.status_code, "error"), str(exc.detail))
