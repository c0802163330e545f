"""Errors as JSON `{"error": {"code", "message", "details"}}` with the right status."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from hub.control.api.responses import JsonResponse
from hub.core.errors import HubError
from hub.core.rejection import field_errors

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_failed",
          503: "unavailable", 504: "gateway_timeout"}

ERROR_SCHEMA = {
    "title": "Error", "type": "object", "required": ["error"], "additionalProperties": False,
    "properties": {"error": {
        "type": "object", "required": ["code", "message", "details"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "details": {"description": "What was refused: fields and rules, or null."}}}},
}
_DESCRIPTIONS = {"400": "Malformed request body", "401": "Missing or wrong operator token", "404": "Not found", "422": "Validation failed (field and rule)"}


class ApiError(HubError):
    def __init__(self, status: int, message: str, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.details = status, message, details
        self.code = code or _CODES.get(status, "error")


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: dict[str, str] | None = None) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "details": details}}, status_code=status,
                          headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JsonResponse:
        challenge = {"WWW-Authenticate": 'Bearer realm="lgsp-hub"'} if exc.status == 401 else None
        return error_response(exc.status, exc.code, exc.message, exc.details, challenge)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JsonResponse:
        details = [e.as_dict() for e in field_errors(exc.errors())]
        first = details[0] if details else {"field": "body", "message": "invalid request"}
        return error_response(422, "validation_failed", f"{first['field']}: {first['message']}", details)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JsonResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # RFC 9110: `Allow` lists every method of the resource, not just one route's
            headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
        return error_response(exc.status_code, _CODES.get(exc.status_code, "error"), str(exc.detail),
                              headers=headers or None)

    document(app)


def _allowed_methods(request: Request) -> str:
    """The methods the OpenAPI document gives the requested path (Starlette's 405 names one route's only)."""
    segments = request.url.path.split("/")
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        parts = template.split("/")
        if len(parts) == len(segments) and all(
                part == segment or (part.startswith("{") and segment) for part, segment in zip(parts, segments)):
            methods |= {method.upper() for method in operations}
    return ", ".join(sorted(methods))


def document(app: FastAPI) -> None:
    """Refusals in the OpenAPI document as they are answered: the error body on every 4xx/5xx declared
    without content and on 422 (not FastAPI's HTTPValidationError), and the statuses any route may answer:
    400 (malformed body) where there is a body, 401 where the operator token is required, 404 where the path names an existing resource (not on POST),
    422 where there is input."""
    generate = app.openapi
    error_content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = generate()
            spec.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
            for path, operations in spec.get("paths", {}).items():
                for method, operation in operations.items():
                    responses = operation.setdefault("responses", {})
                    implied = {"400": "requestBody" in operation, "404": "{" in path and method != "post",
                               "422": "requestBody" in operation or bool(operation.get("parameters")),
                               "401": bool(operation.get("security"))}
                    for status in (status for status, applies in implied.items() if applies):
                        responses.setdefault(status, {"description": _DESCRIPTIONS[status]})
                    for status, response in responses.items():
                        if status[0] in "45" and ("content" not in response or status == "422"):
                            response["content"] = error_content
                            if status == "422":
                                response["description"] = _DESCRIPTIONS[status]
            unused = [name for name in ("HTTPValidationError", "ValidationError")
                      if f"#/components/schemas/{name}" not in str(spec["paths"])]
            for name in unused:
                spec["components"]["schemas"].pop(name, None)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
