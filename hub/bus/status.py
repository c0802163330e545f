"""Connector status as Kafka Connect reports it: state, last heartbeat, inbox lag, last error."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from hub.bus.topics import BrokerLink
from hub.core.credentials import AuthError, Keyring, fresh, seal
from hub.core.personal_id import mask_text

log = logging.getLogger(__name__)


class StatusBoard:
    """Follows `lgsp.heartbeats` and answers status questions about connectors."""

    def __init__(self, link: BrokerLink, heartbeat_timeout: float,
                 keyring: Callable[[], Keyring | None] = lambda: None) -> None:
        self._link, self._topics = link, link.topics
        self.heartbeat_timeout = heartbeat_timeout
        self._keyring = keyring  # heartbeats count towards connectivity: only signed ones are believed
        self.beats: dict[str, dict[str, Any]] = {}
        self.refused = 0
        self._task: asyncio.Task | None = None
        self._readers: dict[str, AIOKafkaConsumer] = {}

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(self._topics.heartbeats, **self._link.client, group_id=None,
                                          auto_offset_reset="latest", fetch_max_wait_ms=200)
        self._offsets = AIOKafkaAdminClient(**self._link.client)
        await self._consumer.start()
        await self._offsets.start()
        self._task = asyncio.create_task(self._follow(), name="heartbeats")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for client in (self._consumer, *self._readers.values()):
            await client.stop()
        await self._offsets.close()

    async def _follow(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    beat = self._believed(record)
                    if beat is not None:
                        beat["received_at"] = time.time()
                        self.beats[beat["connector"]] = beat

    def _believed(self, record: Any) -> dict[str, Any] | None:
        """The heartbeat, if it is well formed and signed by the connector it speaks for."""
        try:
            beat = orjson.loads(record.value)
            connector = beat["connector"]
            keyring = self._keyring()
            now, sealed = time.time(), seal(record)
            if keyring is not None and keyring.signer(*sealed, record.value, now) != connector:
                raise AuthError("connector", "signerIsSource", f"heartbeat for {connector!r} signed by another")
            if keyring is not None:  # an old heartbeat sent again must not keep a dead connector RUNNING
                beat["signed_at"] = fresh(sealed[2], now, self.heartbeat_timeout)
                last = self.beats.get(connector, {}).get("signed_at")
                if last is not None and beat["signed_at"] < last:
                    raise AuthError("lgsp.signed-at", "notReplayed", f"heartbeat for {connector!r} older than the last")
            return beat
        except (orjson.JSONDecodeError, KeyError, TypeError, AuthError) as exc:
            self.refused += 1
            if self.refused in (1, 10, 100) or self.refused % 1000 == 0:  # a flood must not flood the log
                log.warning("heartbeat refused (%d so far): %s", self.refused, exc)
            return None

    def state(self, connector_id: str, paused: bool) -> str:
        beat = self.beats.get(connector_id)
        if beat is None or time.time() - beat["received_at"] > self.heartbeat_timeout:
            return "UNREACHABLE"
        if paused:
            return "PAUSED"
        return beat["state"] if beat["state"] in ("RUNNING", "FAILED") else "RUNNING"

    async def inbox_lag(self, connector_id: str) -> int | None:
        """Messages in the inbox not yet committed by the connector's group."""
        topic = self._topics.inbox(connector_id)
        try:
            [described] = await self._offsets.describe_topics([topic])
            tps = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
            ends = await self._consumer.end_offsets(tps)
            group = await self._group_reader(connector_id)
            committed = {tp: await group.committed(tp) or 0 for tp in tps}
        except Exception:
            return None
        return sum(max(ends[tp] - committed[tp], 0) for tp in tps)

    async def _group_reader(self, connector_id: str) -> AIOKafkaConsumer:
        """A consumer in the connector's group that never subscribes: it only reads committed offsets."""
        if connector_id not in self._readers:
            reader = AIOKafkaConsumer(**self._link.client, group_id=self._topics.connector_group(connector_id),
                                      enable_auto_commit=False)
            await reader.start()
            self._readers[connector_id] = reader
        return self._readers[connector_id]

    async def status(self, connector_id: str, paused: bool) -> dict[str, Any]:
        beat = self.beats.get(connector_id, {})
        return {
            "id": connector_id,
            "state": self.state(connector_id, paused),
            "last_heartbeat": beat.get("at"),
            "inbox_lag": await self.inbox_lag(connector_id),
            "handled": beat.get("handled"),
            "failed": beat.get("failed"),
            "duplicates_dropped": beat.get("duplicates"),
            "published": beat.get("published"),
            "last_error": mask_text(beat["last_error"]) if beat.get("last_error") else None,
        }
