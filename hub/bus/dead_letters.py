"""Dead letters: the original bytes kept on `lgsp.dlq`, the reason in record headers.

The layout follows Kafka Connect's dead-letter queue: the value is the message
exactly as received; headers carry the stage, reason and where it came from.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections import deque
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord

from hub.bus.gaps import GapGuard
from hub.bus.topics import BrokerLink
from hub.core.rejection import DEAD_LETTER_PREFIX as _PREFIX


def dead_letter(record: ConsumerRecord) -> dict[str, Any]:
    """A dead letter as the API shows it: the reason, and the original message."""
    headers = {name[len(_PREFIX):]: value.decode() for name, value in record.headers if name.startswith(_PREFIX)}
    letter: dict[str, Any] = {
        "dlq_offset": f"{record.partition}:{record.offset}",
        "stage": headers.get("stage"),
        "reason": headers.get("reason"),
        "errors": orjson.loads(headers.get("errors", "[]")),
        "ingress": {"topic": headers.get("topic"), "partition": int(headers.get("partition", -1)),
                    "offset": int(headers.get("offset", -1))},
        "rejected_at": headers.get("at"),
        "size_bytes": len(record.value or b""),
    }
    raw = record.value or b""
    try:
        letter["original"] = raw.decode("utf-8")
    except UnicodeDecodeError:
        letter["original_base64"] = base64.b64encode(raw).decode()
    return letter


class DeadLetterTail:
    """Follows `lgsp.dlq` from its start and keeps the most recent letters in memory."""

    def __init__(self, link: BrokerLink, keep: int) -> None:
        self._link = link
        self.letters: deque[dict[str, Any]] = deque(maxlen=keep)
        self.total = 0
        self.by_stage: dict[str, int] = {}
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(self._link.topics.dlq, **self._link.client,
                                          group_id=None, auto_offset_reset="earliest", enable_auto_commit=False,
                                          fetch_max_wait_ms=200, isolation_level=self._link.isolation_level)
        self._gaps = GapGuard("dlq-tail", self._consumer.seek, transactional=self._link.transactions)
        await self._consumer.start()
        self._task = asyncio.create_task(self._follow(), name="dlq-tail")

    async def _follow(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=500, max_records=1000)
            for records in self._gaps.check(batches).values():
                for record in records:
                    letter = dead_letter(record)
                    self.letters.append(letter)
                    self.total += 1
                    self.by_stage[letter["stage"]] = self.by_stage.get(letter["stage"], 0) + 1

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    def page(self, offset: int, limit: int, stage: str | None = None) -> list[dict[str, Any]]:
        """Newest first."""
        letters = [letter for letter in reversed(self.letters) if stage is None or letter["stage"] == stage]
        return letters[offset:offset + limit]
