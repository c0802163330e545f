"""Connector status as Kafka Connect reports it: state, last heartbeat, inbox lag, last error."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from hub.broker import HEARTBEAT_TOPIC
from hub.directory import inbox_topic


class StatusBoard:
    """Follows `lgsp.heartbeats` and answers status questions about connectors."""

    def __init__(self, bootstrap_servers: str, heartbeat_timeout: float) -> None:
        self._bootstrap = bootstrap_servers
        self.heartbeat_timeout = heartbeat_timeout
        self.beats: dict[str, dict[str, Any]] = {}
        self._task: asyncio.Task | None = None
        self._readers: dict[str, AIOKafkaConsumer] = {}

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(HEARTBEAT_TOPIC, bootstrap_servers=self._bootstrap, group_id=None,
                                          auto_offset_reset="latest", fetch_max_wait_ms=200)
        self._offsets = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap)
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
                    beat = orjson.loads(record.value)
                    beat["received_at"] = time.time()
                    self.beats[beat["connector"]] = beat

    def state(self, connector_id: str, paused: bool) -> str:
        beat = self.beats.get(connector_id)
        if beat is None or time.time() - beat["received_at"] > self.heartbeat_timeout:
            return "UNREACHABLE"
        if paused:
            return "PAUSED"
        return beat["state"] if beat["state"] in ("RUNNING", "FAILED") else "RUNNING"

    async def inbox_lag(self, connector_id: str) -> int | None:
        """Messages in the inbox not yet committed by the connector's group."""
        topic = inbox_topic(connector_id)
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
            reader = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, group_id=f"lgsp.connector.{connector_id}",
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
            "last_error": beat.get("last_error"),
        }
