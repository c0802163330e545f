"""Repeated client errors kept to one line per interval: with the broker gone, each of the hub's Kafka
clients logs every reconnect attempt (about a thousand lines a second from `lgsp-hub up`), and with the
broker slow every simulated dossier that fails logs its traceback (tens of thousands a minute at ×36000).

A filter on the handlers, like hub.logs: a record from an `aiokafka` or `province` logger whose message
template was logged less than `interval` seconds ago is dropped, before it is formatted; the next one let
through says how many were.
"""

from __future__ import annotations

import logging
import time


class BurstFilter(logging.Filter):
    def __init__(self, interval: float = 30.0, loggers: tuple[str, ...] = ("aiokafka", "province")) -> None:
        super().__init__()
        self.interval, self.loggers = interval, loggers
        self._last: dict[tuple[str, object], tuple[float, int]] = {}  # (logger, template) → (shown at, dropped)

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self.loggers):
            return True
        key, now = (record.name, record.msg), time.monotonic()
        shown, dropped = self._last.get(key, (-self.interval, 0))
        if now - shown < self.interval:
            self._last[key] = (shown, dropped + 1)
            return False
        self._last[key] = (now, 0)
        if dropped:
            record.msg = f"{record.msg} ({dropped} more like it in the last {now - shown:.0f} s not shown)"
        return True


def install(*handlers: logging.Handler) -> None:
    """Put the filter on these handlers, or on the root logger's."""
    for handler in handlers or logging.getLogger().handlers:
        if not any(isinstance(existing, BurstFilter) for existing in handler.filters):
            handler.addFilter(BurstFilter())
