"""The replies to one API process's synchronous calls: one partition of `<prefix>.replies`, read from its end.

A call's request carries the partition (REPLY_TO_HEADER); the provider echoes it and the router delivers the
reply there. Several API processes may share a partition: each takes the replies it waits for (by correlation
id, and only from the provider, of the reply type, to the caller it expects) and leaves the others. A reply
to a call that already timed out is handed to `on_late`, never to a later caller: every call waits on its
own request's id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from hub.bus.admin import TopicAdmin
from hub.bus.gaps import GapGuard
from hub.bus.topics import RECORD_BYTES_MAX, BrokerLink

log = logging.getLogger(__name__)
TIMED_OUT_KEPT = 10_000  # calls remembered after their timeout, to tell a late reply from a stranger's
STOP_SECONDS = 5.0

LateReply = Callable[[ConsumerRecord, float], None]  # the reply, and when its call timed out (unix seconds)


class Expected(NamedTuple):
    """Who answers a call, with what, to whom: envelope source, type and target."""

    source: str
    type: str
    target: str


class ReplyBox:
    def __init__(self, link: BrokerLink, admin: TopicAdmin, on_late: LateReply, partition: int | None = None) -> None:
        self._link, self._admin, self.topic = link, admin, link.topics.replies
        self._on_late = on_late
        self.partition = partition  # None: one chosen at random at start
        self._waiting: dict[str, tuple[Expected, asyncio.Future[ConsumerRecord]]] = {}
        self._timed_out: OrderedDict[str, float] = OrderedDict()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        partitions = await self._admin.partitions(self.topic)
        if self.partition is None:
            self.partition = random.randrange(partitions)
        elif self.partition >= partitions:
            raise ValueError(f"LGSP_REPLIES_PARTITION={self.partition}: {self.topic} has {partitions} partitions")
        self._consumer = AIOKafkaConsumer(
            **self._link.client, group_id=None, enable_auto_commit=False,
            isolation_level=self._link.isolation_level, fetch_max_wait_ms=20,
            max_partition_fetch_bytes=RECORD_BYTES_MAX)
        await self._consumer.start()
        tp = TopicPartition(self.topic, self.partition)
        self._consumer.assign([tp])
        await self._consumer.seek_to_end(tp)
        await self._consumer.position(tp)  # resolved now: a reply to the first call comes after it
        self._gaps = GapGuard("replies", self._consumer.seek, transactional=self._link.transactions)
        self._task = asyncio.create_task(self._follow(), name="replies")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for _, future in self._waiting.values():
            future.cancel()
        with contextlib.suppress(TimeoutError, KafkaError):
            await asyncio.wait_for(self._consumer.stop(), STOP_SECONDS)

    def expect(self, correlation_id: str, expected: Expected) -> asyncio.Future[ConsumerRecord]:
        """The reply to the request with this id, once it comes; give_up() when no longer waiting."""
        future: asyncio.Future[ConsumerRecord] = asyncio.get_running_loop().create_future()
        self._waiting[correlation_id] = (expected, future)
        return future

    def give_up(self, correlation_id: str) -> None:
        """The call ended without its reply (timeout, or its request failed): a reply now is late."""
        if self._waiting.pop(correlation_id, None) is not None:
            self._timed_out[correlation_id] = time.time()
            while len(self._timed_out) > TIMED_OUT_KEPT:
                self._timed_out.popitem(last=False)

    async def _follow(self) -> None:
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=200, max_records=1000)
            except KafkaError:  # the calls outlive a broker hiccup; theirs time out meanwhile
                log.warning("replies: reading %s failed; reading on", self.topic, exc_info=True)
                await asyncio.sleep(0.5)
                continue
            for records in self._gaps.check(batches).values():
                for record in records:
                    self._take(record)

    def _take(self, record: ConsumerRecord) -> None:
        try:
            reply = orjson.loads(record.value)
            correlation_id, answered = reply["correlation_id"], Expected(reply["source"], reply["type"],
                                                                           reply.get("target"))
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return  # the router delivers only routed replies here: none lacks these fields
        if correlation_id in self._waiting:
            expected, waiting = self._waiting[correlation_id]
            if answered != expected:  # correlated with a call, but not its answer: that call waits on
                log.warning("replies: %s %s to %s names call %s, which waits for %s from %s: ignored", answered.type,
                            answered.source, answered.target, correlation_id, expected.type, expected.source)
                return
            del self._waiting[correlation_id]
            if not waiting.done():
                waiting.set_result(record)
        elif (timed_out_at := self._timed_out.pop(correlation_id, None)) is not None:
            self._on_late(record, timed_out_at)
