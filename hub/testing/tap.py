"""A tap on a running hub: what entered the ingress, and what became of it.

It reads the hub's ingress, the inboxes and the DLQ from their ends, without joining any consumer group,
so it changes nothing for the hub or its connectors; inboxes of connectors registered later are followed.
Deliveries are matched by envelope id; rejections by the ingress partition and offset the dead-letter
headers carry (or as HTTP-edge refusals).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from hub.bus.dead_letters import dead_letter
from hub.bus.gaps import GapGuard
from hub.bus.topics import BrokerLink


@dataclass
class Seen:
    ingress: list[tuple[int, int, int, bytes]] = field(default_factory=list)  # (timestamp ms, partition, offset, raw)
    delivered: dict[str, set[str]] = field(default_factory=dict)  # envelope id → inboxes
    rejected: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)  # ingress (partition, offset)
    refused_at_http: list[tuple[int, bytes, dict[str, Any]]] = field(default_factory=list)
    last_activity: float = field(default_factory=time.monotonic)


def envelope_id(raw: bytes) -> str | None:
    """The `id` of a message's envelope; None for bytes that are not an object with a string id."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return data.get("id") if isinstance(data, dict) and isinstance(data.get("id"), str) else None


def rejection_of(letter: dict[str, Any]) -> dict[str, Any]:
    first = (letter.get("errors") or [{}])[0]
    return {"stage": letter.get("stage"), "field": first.get("field"), "rule": first.get("rule"),
            "reason": letter.get("reason")}


class Tap:
    def __init__(self, link: BrokerLink, connector_ids: list[str], read_ingress: bool = True) -> None:
        self._topics, self._link = link.topics, link
        self._inboxes = {self._topics.inbox(cid): cid for cid in connector_ids}
        self._read_ingress = read_ingress
        self.seen = Seen()

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(**self._link.client, group_id=None,
                                          enable_auto_commit=False, fetch_max_wait_ms=100,
                                          isolation_level=self._link.isolation_level)
        self._gaps = GapGuard("tap", self._consumer.seek, transactional=self._link.transactions)
        await self._consumer.start()
        partitions = await self._partitions([self._topics.dlq, *self._inboxes,
                                             *([self._topics.ingress] if self._read_ingress else [])])
        self._consumer.assign(partitions)
        await self._consumer.seek_to_end(*partitions)
        for tp in partitions:  # resolve the end offsets now, so nothing sent after start() is missed
            await self._consumer.position(tp)

    async def follow(self, connector_ids: list[str]) -> None:
        """Tap the inboxes of connectors registered since start() too, each from its beginning: deliveries
        made before it was noticed are read, and anything older matches no recorded message."""
        inbox = self._topics.inbox
        wanted = {inbox(cid): cid for cid in connector_ids if inbox(cid) not in self._inboxes}
        if not wanted:
            return
        added = await self._partitions(list(wanted))  # an inbox topic appears with its first delivery
        if not added:
            return
        kept = {tp: await self._consumer.position(tp) for tp in self._consumer.assignment()}
        self._consumer.assign([*kept, *added])  # a new assignment forgets positions: put them back
        for tp, offset in kept.items():
            self._consumer.seek(tp, offset)
        await self._consumer.seek_to_beginning(*added)
        self._gaps.forget()
        self._inboxes.update({tp.topic: wanted[tp.topic] for tp in added})

    async def _partitions(self, topics: list[str]) -> list[TopicPartition]:
        """The partitions of those topics that exist now (fresh metadata: `consumer.topics()` drops it)."""
        cluster = await self._consumer._client.fetch_all_metadata()
        return [TopicPartition(topic, p) for topic in topics for p in cluster.partitions_for_topic(topic) or ()]

    async def stop(self) -> None:
        await self._consumer.stop()

    async def poll(self, timeout_ms: int = 200) -> int:
        """Read what arrived; returns how many records."""
        batches = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=5000)
        count = 0
        for tp, records in self._gaps.check(batches).items():
            for record in records:
                self._take(tp.topic, record)
                count += 1
        if count:
            self.seen.last_activity = time.monotonic()
        return count

    def _take(self, topic: str, record: Any) -> None:
        seen = self.seen
        if topic == self._topics.ingress:
            seen.ingress.append((record.timestamp, record.partition, record.offset, record.value or b""))
        elif topic == self._topics.dlq:
            letter = dead_letter(record)
            where = letter["ingress"]
            if where["topic"] == self._topics.ingress:
                seen.rejected[(where["partition"], where["offset"])] = rejection_of(letter)
            elif where["topic"] == "http":
                seen.refused_at_http.append((record.timestamp, record.value or b"", rejection_of(letter)))
        else:
            seen.delivered.setdefault(envelope_id(record.value or b""), set()).add(self._inboxes[topic])
