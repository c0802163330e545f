"""Bounded memory of message ids already handled: redeliveries are dropped."""

from __future__ import annotations

from collections import OrderedDict
from uuid import UUID


class SeenIds:
    def __init__(self, capacity: int = 100_000) -> None:
        self._ids: OrderedDict[UUID, None] = OrderedDict()
        self._capacity = capacity

    def add(self, message_id: UUID) -> bool:
        """Remember `message_id`; False when it was already seen (a duplicate)."""
        if message_id in self._ids:
            self._ids.move_to_end(message_id)
            return False
        self._ids[message_id] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._ids
