"""No personal data in the application's logs: ID-like digit runs are masked in every record.

A filter on the handlers (a filter on a logger would miss records propagated from its children), for the
root handler of `lgsp-hub` and for uvicorn's own handlers, whose access lines carry query strings such as
`?personal_id=`. It masks with hub.core.personal_id.mask_text: runs of nine or more digits keep their province
code and last three digits.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from uvicorn.config import LOGGING_CONFIG

from hub.core.personal_id import mask_text

_PLAIN = logging.Formatter()  # formats tracebacks the way every standard formatter does


class PersonalIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record: the handler reports it, as without the filter
            return True
        masked = mask_text(message)
        if masked != message:
            _mask_arguments(record, masked)
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_text(_PLAIN.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def _mask_arguments(record: logging.LogRecord, masked: str) -> None:
    """Mask inside msg and args, keeping their shape (uvicorn's access formatter reads args by position);
    when a masked argument no longer fits its placeholder (`%d`), keep the masked message alone."""
    record.msg = mask_text(record.msg) if isinstance(record.msg, str) else record.msg
    if isinstance(record.args, dict):
        record.args = {name: _masked(value) for name, value in record.args.items()}
    elif isinstance(record.args, tuple):
        record.args = tuple(_masked(value) for value in record.args)
    try:
        fits = record.getMessage() == masked
    except (TypeError, ValueError):
        fits = False
    if not fits:
        record.msg, record.args = masked, ()


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    text = str(value)
    masked = mask_text(text)
    return value if masked == text else masked  # a number or an object holding an ID: as masked text


def install(*handlers: logging.Handler) -> None:
    """Put the filter on these handlers, or on the root logger's."""
    for handler in handlers or logging.getLogger().handlers:
        if not any(isinstance(existing, PersonalIdFilter) for existing in handler.filters):
            handler.addFilter(PersonalIdFilter())


def uvicorn_config() -> dict[str, Any]:
    """uvicorn's logging configuration with the filter on each of its handlers (uvicorn.run applies it
    after our own setup, replacing its handlers, so it must carry the filter itself)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["personal_ids"] = {"()": PersonalIdFilter}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("personal_ids")
    return config
