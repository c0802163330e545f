from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from hub.runtime import Hub


def _hub(request: Request) -> Hub:
    return request.app.state.hub


HubDep = Annotated[Hub, Depends(_hub)]
