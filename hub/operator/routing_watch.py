"""Routing as the decisions topic tells it: messages routed and refused, route latency, each source last heard.

Every router worker, in whichever process, and the HTTP edge publish one decision record per message on
`<prefix>.decisions` (hub.audit.decisions). This reader follows every partition of the topic from its end,
assigned (no consumer group) and read committed when the router writes in transactions, so a worker's
aborted batch is never counted. It runs beside the connectors of a busy process: per record, one orjson
parse and a few counters. Route latency is `routed_at - received_at`: from the ingress record's timestamp,
as the router's `lgsp_route_latency_seconds`, for delivered messages (records from before `received_at`
was carried count, without a latency). Deliveries withheld for want of a data-sharing agreement in force are
counted per consumer and type from the record's `sharing`, whether the message reached others or no one.

A few types are read whole: those given `observers` (the document indicators, whose messages are targeted,
so no subscriber of the hub receives them). For a delivered decision of such a type, and only then, the
message as received (the record's `lgsp-message` header) is parsed and its payload handed to the type's
observer, once per message id (decisions repeat when the router publishes a batch again, at least once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from hub.audit.decisions import MESSAGE_HEADER
from hub.bus.admin import TopicAdmin
from hub.bus.gaps import GapGuard
from hub.bus.topics import RECORD_BYTES_MAX, BrokerLink
from hub.sdk.dedup import SeenIds

log = logging.getLogger(__name__)
POLL_MS = 200
LATENCIES_KEPT = 20_000  # between two samples of the view; at 2,000 msg/s a sample takes 4,000
STOP_SECONDS = 5.0
# (type, payload, message id) of a delivered message of a type observed
Observer = Callable[[str, dict[str, Any], str], None]


class RoutingWatch:
    """Counters since start (`routed`, `rejected`, `withheld` per (consumer, type)), latencies since the last
    take_latencies(), and the time of each source's last delivered message (`last_seen`, unix seconds);
    delivered messages of the types in `observers` handed to them."""

    def __init__(self, link: BrokerLink, admin: TopicAdmin, observers: dict[str, Observer] | None = None) -> None:
        self._link, self._admin, self.topic = link, admin, link.topics.decisions
        self._observers = observers or {}
        self._observed = SeenIds()
        self.unobserved = 0  # messages of an observed type its observer could not take
        self.routed = 0
        self.rejected = 0
        self.unreadable = 0  # records that are no decision (only the hub writes the topic)
        self.last_seen: dict[str, float] = {}
        self.withheld: Counter[tuple[str, str]] = Counter()
        self.since: float | None = None  # when counting began (unix seconds)
        self._latencies: deque[float] = deque(maxlen=LATENCIES_KEPT)
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            **self._link.client, group_id=None, enable_auto_commit=False,
            isolation_level=self._link.isolation_level, fetch_max_wait_ms=200,
            max_partition_fetch_bytes=RECORD_BYTES_MAX)
        await self._consumer.start()
        partitions = [TopicPartition(self.topic, p) for p in range(await self._admin.partitions(self.topic))]
        self._consumer.assign(partitions)
        await self._consumer.seek_to_end(*partitions)
        self.since = time.time()
        self._gaps = GapGuard("routing-watch", self._consumer.seek, transactional=self._link.transactions)
        self._task = asyncio.create_task(self._follow(), name="routing-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(TimeoutError, KafkaError):
            await asyncio.wait_for(self._consumer.stop(), STOP_SECONDS)

    def take_latencies(self) -> list[float]:
        """The route latencies (seconds) of the messages delivered since the last call."""
        taken = list(self._latencies)
        self._latencies.clear()
        return taken

    async def _follow(self) -> None:
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=POLL_MS, max_records=10_000)
            except KafkaError:  # the view outlives a broker hiccup
                log.warning("routing watch: reading %s failed; reading on", self.topic, exc_info=True)
                await asyncio.sleep(1.0)
                continue
            for records in self._gaps.check(batches).values():
                self.count(records)

    def count(self, records: list[ConsumerRecord]) -> None:
        last_seen, latencies, routed, rejected = self.last_seen, self._latencies, 0, 0
        for record in records:
            try:
                d = orjson.loads(record.value)
                sharing = d.get("sharing")  # None when no agreement governed; older records lack it
                if sharing and sharing["withheld"]:
                    self._count_withheld(d["type"], sharing["withheld"])
                if d["outcome"] != "delivered":  # else rejected, or the end of a call over HTTP
                    rejected += d["outcome"] == "rejected"
                    continue
                at, source, received = d["routed_at"], d["source"], d.get("received_at")
                routed += 1
                if received is not None:
                    latencies.append(at - received)
                if source is not None and at > last_seen.get(source, 0.0):
                    last_seen[source] = at
                if d["type"] in self._observers:
                    self._hand_on(d, record.headers)
            except (orjson.JSONDecodeError, KeyError, TypeError):
                self.unreadable += 1
        self.routed += routed
        self.rejected += rejected

    def _hand_on(self, d: dict[str, Any], headers: Any) -> None:
        """The delivered message to its type's observer, unless its id was handed on already."""
        message_id = d["message_id"]
        if not self._observed.add(message_id):
            return
        raw = next((value for key, value in headers or () if key == MESSAGE_HEADER), None)
        try:
            self._observers[d["type"]](d["type"], orjson.loads(raw)["payload"], message_id)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):  # the view outlives a bad message
            self.unobserved += 1
            log.warning("routing watch: message %s (%s) not observed", message_id, d["type"], exc_info=True)

    def _count_withheld(self, type: str, withheld: dict[str, str]) -> None:
        for consumer in withheld:
            self.withheld[(consumer, type)] += 1
