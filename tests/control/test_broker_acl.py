"""Each connector only where it belongs: on Apache Kafka every connector credential is a SCRAM principal of
its own, allowed its inbox, its group and the topics it writes, and cut off when the credential goes."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)

from hub.bus.broker_security import BrokerLogin
from hub.bus.topics import Topics
from tests.support.brokers import BrokerUnderTest
from tests.support.hubs import OPERATOR, HubProcess

pytestmark = pytest.mark.asyncio

SPEC = {"name": "Hệ thống {}", "agency": "Sở Tư pháp", "level": "province",
        "produces": ["dossier.submitted"], "consumes": ["dossier.submitted"]}


@pytest.fixture(scope="module")
def acl_hub(tmp_path_factory, kafka_cluster):
    """A hub on the session's Apache Kafka (tansu has no ACLs: see the last test)."""
    bootstrap, admin = kafka_cluster
    hub = HubProcess(tmp_path_factory.mktemp("acl"), BrokerUnderTest("kafka", bootstrap, Topics(), admin).fresh(),
                     command="serve").start()
    yield hub
    hub.stop()


def _register(hub: HubProcess, connector_id: str) -> dict:
    spec = {"id": connector_id, **SPEC, "name": SPEC["name"].format(connector_id)}
    answer = httpx.post(f"{hub.url}/v1/connectors", json=spec, headers=OPERATOR, timeout=30)
    assert answer.status_code == 201, answer.text
    return answer.json()["credential"]


def _login(shown: dict) -> BrokerLogin:
    return BrokerLogin.parse(shown["broker_credential"])


def _as(hub: HubProcess, login: BrokerLogin) -> dict:
    return hub.link.as_login(login).client


async def _reads(client: dict, topic: str, group: str | None) -> None:
    consumer = AIOKafkaConsumer(topic, **client, group_id=group, auto_offset_reset="earliest")
    try:
        await consumer.start()
        await asyncio.wait_for(consumer.getmany(timeout_ms=2000), 20)
    finally:
        await consumer.stop()


async def _writes(client: dict, topic: str) -> None:
    producer = AIOKafkaProducer(**client, request_timeout_ms=10_000)
    try:
        await producer.start()
        await asyncio.wait_for(producer.send_and_wait(topic, b"{}"), 20)
    finally:
        await producer.stop()


async def test_a_connector_reads_only_its_own_inbox_in_its_own_group(acl_hub):
    topics = acl_hub.topics
    alice, _ = _login(_register(acl_hub, "acl-a")), _register(acl_hub, "acl-b")
    mine = _as(acl_hub, alice)
    await _reads(mine, topics.inbox("acl-a"), topics.connector_group("acl-a"))  # allowed
    await _writes(mine, topics.ingress)
    with pytest.raises(TopicAuthorizationFailedError):
        await _reads(mine, topics.inbox("acl-b"), topics.connector_group("acl-a"))
    with pytest.raises(GroupAuthorizationFailedError):
        await _reads(mine, topics.inbox("acl-a"), topics.connector_group("acl-b"))
    with pytest.raises(TopicAuthorizationFailedError):
        await _reads(mine, topics.decisions, None)  # the hub's audit trail is not a connector's to read


async def test_a_connector_cannot_write_the_control_topic_or_another_inbox(acl_hub):
    topics = acl_hub.topics
    mine = _as(acl_hub, _login(_register(acl_hub, "acl-c")))
    for topic in (topics.control, topics.inbox("acl-c"), topics.decisions):
        with pytest.raises(TopicAuthorizationFailedError):
            await _writes(mine, topic)


async def test_a_revoked_credential_is_cut_off_at_once(acl_hub):
    shown = _register(acl_hub, "acl-d")
    producer = AIOKafkaProducer(**_as(acl_hub, _login(shown)), request_timeout_ms=10_000)
    await producer.start()
    try:
        await producer.send_and_wait(acl_hub.topics.ingress, b"{}")  # connected, and allowed
        gone = httpx.delete(f"{acl_hub.url}/v1/connectors/acl-d/credentials/{shown['id']}", headers=OPERATOR)
        assert gone.status_code == 204
        with pytest.raises(TopicAuthorizationFailedError):  # on the connection it already had
            await asyncio.wait_for(producer.send_and_wait(acl_hub.topics.ingress, b"{}"), 20)
    finally:
        await producer.stop()
    with pytest.raises((KafkaConnectionError, KafkaError)):  # and it cannot log in again
        await _writes(_as(acl_hub, _login(shown)), acl_hub.topics.ingress)


async def test_rotation_gives_a_new_principal_and_retires_the_old_after_its_grace(acl_hub):
    first = _register(acl_hub, "acl-e")
    rotated = httpx.post(f"{acl_hub.url}/v1/connectors/acl-e/credentials", json={"grace_seconds": 3},
                         headers=OPERATOR, timeout=30).json()
    assert rotated["broker_credential"] != first["broker_credential"]
    await _writes(_as(acl_hub, _login(rotated)), acl_hub.topics.ingress)
    await _writes(_as(acl_hub, _login(first)), acl_hub.topics.ingress)  # still inside its grace
    deadline = asyncio.get_running_loop().time() + 30
    while True:  # the hub removes it once expired, at its next refresh
        try:
            await _writes(_as(acl_hub, _login(first)), acl_hub.topics.ingress)
        except (KafkaConnectionError, KafkaError):
            break
        assert asyncio.get_running_loop().time() < deadline, "the rotated-out principal still writes"
        await asyncio.sleep(1)
    await _writes(_as(acl_hub, _login(rotated)), acl_hub.topics.ingress)


async def test_health_says_whether_the_broker_has_acls(hub_process):
    health = httpx.get(f"{hub_process.url}/v1/health").json()["broker"]
    kafka = hub_process.namespace.kind == "kafka"
    assert health["broker_acl"] is kafka
    assert health["security"] == ({"protocol": "SASL_PLAINTEXT", "mechanism": "SCRAM-SHA-512"} if kafka else None)
    shown = _register(hub_process, "acl-f")
    assert ("broker_credential" in shown) is kafka  # tansu: nothing to hand over
