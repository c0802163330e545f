"""The router's lag, and whether the router is falling behind.

The lag is what the router group has yet to route: over the ingress partitions, the end offset less the
group's committed offset (its start offset where it committed none). It counts every worker of the group,
in whichever process, and is measured with the throughput; LagTrend keeps the last window of it and gives
the one verdict the API and the dashboard show: `behind`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from hub.bus.admin import TopicAdmin
from hub.bus.topics import BrokerLink

MEASURE_SECONDS = 3.0  # a broker that does not answer leaves the lag unknown rather than the view waiting
STOP_SECONDS = 5.0


def growing(now: int | None, then: int | None, threshold: int) -> bool:
    """The router is behind when its lag is above `threshold` and higher than a window ago."""
    # Higher than a window ago: the router takes in less than arrives. Above a threshold: a lag of a few
    # batches in flight comes and goes at any rate and says nothing. Unknown either side: no verdict.
    return now is not None and then is not None and now > threshold and now > then


class LagTrend:
    """The lag's samples over the last `window` seconds, and the sample that is `window` old."""

    def __init__(self, window: float, threshold: int) -> None:
        self.window, self.threshold = window, threshold
        self._samples: deque[tuple[float, int | None]] = deque()

    def add(self, at: float, lag: int | None) -> None:
        self._samples.append((at, lag))
        while len(self._samples) > 1 and self._samples[1][0] <= at - self.window:
            self._samples.popleft()  # the oldest kept is the latest sample at least a window old

    @property
    def lag(self) -> int | None:
        return self._samples[-1][1] if self._samples else None

    @property
    def behind(self) -> bool:
        if not self._samples:
            return False
        (then_at, then), (now_at, now) = self._samples[0], self._samples[-1]
        return then_at <= now_at - self.window and growing(now, then, self.threshold)


class RouterLag:
    """Measures the router group's lag on the ingress topic."""

    def __init__(self, link: BrokerLink, admin: TopicAdmin) -> None:
        self._link, self._admin = link, admin
        self._topic, self._group = link.topics.ingress, link.topics.router_group
        self._partitions: list[TopicPartition] = []

    async def start(self) -> None:
        # Only asked for offsets: never subscribes, never joins a group.
        self._offsets = AIOKafkaConsumer(**self._link.client, group_id=None,
                                         enable_auto_commit=False)
        await self._offsets.start()

    async def stop(self) -> None:
        with contextlib.suppress(TimeoutError, KafkaError):
            await asyncio.wait_for(self._offsets.stop(), STOP_SECONDS)

    async def measure(self) -> int | None:
        """The lag now; None when the broker does not tell."""
        try:
            return await asyncio.wait_for(self._measure(), MEASURE_SECONDS)
        except (TimeoutError, KafkaError, OSError):
            return None

    async def _measure(self) -> int:
        if not self._partitions:
            count = await self._admin.partitions(self._topic)
            self._partitions = [TopicPartition(self._topic, p) for p in range(count)]
        tps = self._partitions
        committed = await self._admin.committed(self._group, self._topic, len(tps))
        ends = await self._offsets.end_offsets(tps)
        starts = await self._offsets.beginning_offsets(tps) if len(committed) < len(tps) else {}
        return sum(max(ends[tp] - committed.get(tp.partition, starts.get(tp, 0)), 0) for tp in tps)
