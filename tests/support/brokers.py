"""The brokers a session runs the tests on, each test in a namespace of its own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from hub.bus.broker_security import BrokerLogin
from hub.bus.topics import BrokerLink, Topics
from hub.settings import Settings

BROKER_KINDS = ("kafka", "tansu")


@dataclass(frozen=True)
class BrokerUnderTest:
    """One broker of the session, seen through a namespace of its own (a fresh topic prefix)."""

    kind: str
    bootstrap: str
    topics: Topics
    login: BrokerLogin | None = None  # the admin of the session's Apache Kafka: allowed everything

    @property
    def link(self) -> BrokerLink:
        return BrokerLink(self.bootstrap, self.topics, idempotence=self.kind == "kafka",
                          transactions=self.kind == "kafka", login=self.login)

    @property
    def client(self) -> dict:
        """What a test's own aiokafka client connects with: the address, as the admin."""
        return self.link.client

    @property
    def env(self) -> dict[str, str]:
        """What a hub process on this namespace is given: the admin is the hub's principal."""
        return {"LGSP_BROKER": self.kind, "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
                "LGSP_TOPIC_PREFIX": self.topics.prefix, **self._sasl}

    @property
    def _sasl(self) -> dict[str, str]:
        if self.login is None:
            return {}
        return {"KAFKA_SECURITY_PROTOCOL": self.login.protocol, "KAFKA_SASL_MECHANISM": self.login.mechanism,
                "KAFKA_SASL_USERNAME": self.login.username, "KAFKA_SASL_PASSWORD": self.login.password}

    def settings(self, **given) -> Settings:
        sasl = {"kafka_sasl_username": self.login.username, "kafka_sasl_password": self.login.password} \
            if self.login else {}
        return Settings(broker=self.kind, kafka_bootstrap_servers=self.bootstrap, topic_prefix=self.topics.prefix,
                        **sasl, **given)

    def fresh(self) -> BrokerUnderTest:
        return BrokerUnderTest(self.kind, self.bootstrap, Topics(f"t{uuid.uuid4().hex[:12]}"), self.login)
