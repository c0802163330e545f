"""The brokers a session runs the tests on, each test in a namespace of its own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from hub.bus.topics import BrokerLink, Topics
from hub.settings import Settings

BROKER_KINDS = ("kafka", "tansu")


@dataclass(frozen=True)
class BrokerUnderTest:
    """One broker of the session, seen through a namespace of its own (a fresh topic prefix)."""

    kind: str
    bootstrap: str
    topics: Topics

    @property
    def link(self) -> BrokerLink:
        return BrokerLink(self.bootstrap, self.topics, idempotence=self.kind == "kafka", transactions=self.kind == "kafka")

    @property
    def env(self) -> dict[str, str]:
        """What a hub process on this namespace is given."""
        return {"LGSP_BROKER": self.kind, "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
                "LGSP_TOPIC_PREFIX": self.topics.prefix}

    def settings(self, **given) -> Settings:
        return Settings(broker=self.kind, kafka_bootstrap_servers=self.bootstrap, topic_prefix=self.topics.prefix,
                        **given)

    def fresh(self) -> BrokerUnderTest:
        return BrokerUnderTest(self.kind, self.bootstrap, Topics(f"t{uuid.uuid4().hex[:12]}"))
