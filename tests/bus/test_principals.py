"""What each principal is allowed, as data: the ACL tests on Apache Kafka (tests/control/test_broker_acl.py)
prove the broker applies it."""

from __future__ import annotations

import pytest

from hub.bus.acl_protocol import Operation, Pattern, Resource
from hub.bus.broker_security import BrokerLogin
from hub.bus.principals import connector_acls, log_indexer_acls, router_acls
from hub.bus.topics import Topics
from hub.settings import Settings

TOPICS = Topics("lgsp")


def test_a_connector_is_allowed_its_own_names_only_and_never_by_prefix():
    acls = connector_acls(TOPICS, "dat-dai", "dat-dai.1a2b3c4d")
    assert {pattern for _, _, pattern, _, _ in acls} == {Pattern.LITERAL}
    assert {principal for _, _, _, principal, _ in acls} == {"User:dat-dai.1a2b3c4d"}
    reads = {(kind, name) for kind, name, _, _, operation in acls if operation == Operation.READ}
    assert reads == {(Resource.TOPIC, "lgsp.out.dat-dai"), (Resource.TOPIC, "lgsp.control"),
                     (Resource.GROUP, "lgsp.connector.dat-dai")}
    writes = {name for _, name, _, _, operation in acls if operation == Operation.WRITE}
    assert writes == {"lgsp.ingress", "lgsp.heartbeats", "lgsp.dlq"}


def test_the_hub_roles_stay_inside_their_namespace():
    for acls in (router_acls(TOPICS, "lgsp-router"), log_indexer_acls(TOPICS, "lgsp-log-indexer")):
        names = [name for kind, name, _, _, _ in acls if kind != Resource.CLUSTER]
        assert all(name.startswith("lgsp.") or name.startswith("lgsp-") for name in names), names
    assert not any(operation == Operation.READ and name == "lgsp.decisions"
                   for _, name, _, _, operation in router_acls(TOPICS, "lgsp-router"))


def test_a_broker_credential_reads_username_colon_password():
    login = BrokerLogin.parse("dat-dai.1a2b:s3cr:et", {"protocol": "SASL_SSL", "mechanism": "SCRAM-SHA-256"})
    assert (login.username, login.password, login.protocol, login.mechanism) == \
        ("dat-dai.1a2b", "s3cr:et", "SASL_SSL", "SCRAM-SHA-256")
    assert "s3cr" not in repr(login)
    with pytest.raises(ValueError, match="username:password"):
        BrokerLogin.parse("no-password")


def test_sasl_on_a_cluster_needs_both_username_and_password():
    assert Settings(kafka_sasl_username=None).broker_login is None
    given = Settings(kafka_sasl_username="hub", kafka_sasl_password="pw").broker_login
    assert (given.username, given.protocol) == ("hub", "SASL_PLAINTEXT")
    with pytest.raises(ValueError, match="KAFKA_SASL_PASSWORD"):
        _ = Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="hub").broker_login
