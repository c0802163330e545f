"""Hub topics on Apache Kafka: time and size retention, applied (old segments are deleted), and a topic the
broker refuses to create is named, not taken as created.

tansu stores `retention.ms` but never applies it (memory only, DESIGN §4), so this runs on Kafka alone.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from hub.bus.admin import TopicAdmin
from hub.bus.topics import Topics
from tests.support.brokers import BrokerUnderTest


async def topic_config(client: dict, topic: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(**client)
    await admin.start()
    try:
        [described] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    return {name: value for name, value, *_ in described.resources[0][4]}


async def test_old_segments_of_a_hub_topic_are_deleted(kafka_cluster):
    broker = BrokerUnderTest("kafka", *kafka_cluster[:1], Topics(), kafka_cluster[1]).fresh()
    settings = broker.settings(retention_ms=2000, segment_bytes=1 << 20, partitions=1)  # a segment per 200 ms
    admin = TopicAdmin(broker.link, settings)
    await admin.start()
    await admin.ensure([broker.topics.ingress])
    await admin.close()
    config = await topic_config(broker.client, broker.topics.ingress)
    assert (config["retention.ms"], config["retention.bytes"], config["segment.ms"]) == ("2000", str(1 << 30), "200")
    assert config["max.message.bytes"] == str(16 << 20)  # an oversized message reaches the router's DLQ

    tp = TopicPartition(broker.topics.ingress, 0)
    producer = AIOKafkaProducer(**broker.client, enable_idempotence=True)
    reader = AIOKafkaConsumer(**broker.client, group_id=None)
    await producer.start()
    await reader.start()
    try:
        deadline, sent = time.monotonic() + 90, 0
        while time.monotonic() < deadline:  # a record every 300 ms rolls a segment each time
            await producer.send_and_wait(tp.topic, b"old" if sent < 5 else b"new", partition=0)
            sent += 1
            if (await reader.beginning_offsets([tp]))[tp] > 0:
                break
            await asyncio.sleep(0.3)
        start = (await reader.beginning_offsets([tp]))[tp]
    finally:
        await producer.stop()
        await reader.stop()
    assert start > 0, f"nothing deleted in 90 s ({sent} records sent)"
    assert start <= sent


async def test_a_topic_the_broker_refuses_is_named(kafka_cluster):
    broker = BrokerUnderTest("kafka", *kafka_cluster[:1], Topics(), kafka_cluster[1]).fresh()
    admin = TopicAdmin(broker.link, broker.settings())
    await admin.start()
    try:
        await admin.ensure([broker.topics.ingress])
        await admin.ensure([broker.topics.ingress])  # there already: nothing to do
        with pytest.raises(RuntimeError, match=r"refused to create t\w+\.out\.bad name!: InvalidTopicError"):
            await admin.ensure([broker.topics.inbox("bad name!")])
        assert broker.topics.inbox("bad name!") not in await admin.list()
    finally:
        await admin.close()
