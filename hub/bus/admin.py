"""Topic administration on any cluster: hub topics created once, with time and size retention."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code
from aiokafka.structs import TopicPartition

from hub.bus.topics import APPEND_TIME, BrokerLink
from hub.settings import Settings


class TopicAdmin:
    """Creates hub topics idempotently, remembering which exist."""

    def __init__(self, link: BrokerLink, settings: Settings) -> None:
        self._admin = AIOKafkaAdminClient(**link.client)
        self._ingress = link.topics.ingress
        self._partitions = settings.partitions
        self._configs = settings.topic_configs()
        self._known: set[str] = set()

    async def start(self) -> None:
        await self._admin.start()
        self._known.update(await self._admin.list_topics())

    async def close(self) -> None:
        await self._admin.close()

    async def ensure(self, topics: Iterable[str]) -> None:
        missing = [t for t in dict.fromkeys(topics) if t not in self._known]
        if not missing:
            return
        new = [NewTopic(t, self._partitions, 1, topic_configs={**self._configs, **self._own(t)}) for t in missing]
        answer = await self._admin.create_topics(new)  # per-topic errors come back in the answer, not raised
        refused = [(topic, code, message) for topic, code, message, *_ in answer.topic_errors
                   if code and for_code(code) is not TopicAlreadyExistsError]  # existing: another worker's
        if refused:
            raise RuntimeError("the broker refused to create " + "; ".join(
                f"{topic}: {for_code(code).__name__} {message or ''}".strip() for topic, code, message in refused))
        await self._until_listed(missing)
        self._known.update(missing)

    def _own(self, topic: str) -> dict[str, str]:
        return APPEND_TIME if topic == self._ingress else {}

    async def _until_listed(self, topics: list[str], timeout: float = 10.0) -> None:
        """Kafka answers CreateTopics before its metadata lists them; a client asking sooner logs errors."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not set(topics) <= set(await self._admin.list_topics()):
            if asyncio.get_running_loop().time() > deadline:
                return
            await asyncio.sleep(0.05)

    async def partitions(self, topic: str) -> int:
        """How many partitions `topic` has (metadata: an existing cluster's topics may differ from ours)."""
        [described] = await self._admin.describe_topics([topic])
        return len(described["partitions"])

    async def committed(self, group: str, topic: str, partitions: int) -> dict[int, int]:
        """The offsets `group` committed on partitions 0..`partitions`-1 of `topic`; a partition it never
        committed is left out."""
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        found = await self._admin.list_consumer_group_offsets(group, partitions=tps)
        return {tp.partition: meta.offset for tp, meta in found.items() if meta.offset >= 0}

    async def list(self) -> list[str]:
        return await self._admin.list_topics()


async def wait_for_broker(link: BrokerLink, timeout: float = 30.0) -> None:
    """Wait until a Kafka broker answers metadata requests."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        admin = AIOKafkaAdminClient(**link.client, request_timeout_ms=2000)
        try:
            await admin.start()
            await admin.list_topics()
            return
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)
        finally:
            await admin.close()
