"""JSON responses encoded with orjson (datetimes, UUIDs and non-ASCII text without a detour)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response


class JsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
