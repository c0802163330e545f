"""Every topic and consumer-group name of one hub, under its namespace (`LGSP_TOPIC_PREFIX`).

Several hubs (provinces, or tests) share one cluster by taking different prefixes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from hub.bus.broker_security import BrokerLogin

PREFIX_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"  # dots separate the prefix from the rest
# The largest record a hub topic takes, and the hub's producers send: well above LGSP_MAX_MESSAGE_BYTES, so
# an oversized message reaches the router, which dead-letters it with the rule it broke.
RECORD_BYTES_MAX = 16 << 20
# On a request made through the hub's HTTP edge: the partition of `<prefix>.replies` its caller reads. The
# provider echoes it on its reply (the SDK's reply() does), and the router delivers that reply there.
REPLY_TO_HEADER = "lgsp.reply-to"


def reply_partition(headers: tuple | list, partitions: int) -> int | None:
    """The replies partition a record's headers ask for, if any and if it exists."""
    for name, value in headers:
        if name == REPLY_TO_HEADER:
            return int(value) if value.isdigit() and int(value) < partitions else None
    return None


@dataclass(frozen=True)
class Topics:
    prefix: str = "lgsp"

    def __post_init__(self) -> None:
        if not re.match(PREFIX_PATTERN, self.prefix):
            raise ValueError(f"topic prefix {self.prefix!r} must match {PREFIX_PATTERN}")

    @property
    def ingress(self) -> str:
        return f"{self.prefix}.ingress"

    @property
    def dlq(self) -> str:
        return f"{self.prefix}.dlq"

    @property
    def control(self) -> str:
        """Desired state per connector (paused or not), keyed by connector id."""
        return f"{self.prefix}.control"

    @property
    def heartbeats(self) -> str:
        """Connectors' liveness and counters, keyed by connector id."""
        return f"{self.prefix}.heartbeats"

    @property
    def decisions(self) -> str:
        """One routing decision per message routed, keyed by message id: the message log's source."""
        return f"{self.prefix}.decisions"

    @property
    def replies(self) -> str:
        """Replies to synchronous calls made over HTTP; each API process reads one partition of it."""
        return f"{self.prefix}.replies"

    @property
    def router_group(self) -> str:
        return f"{self.prefix}-router"

    @property
    def hub_topics(self) -> list[str]:
        return [self.ingress, self.dlq, self.control, self.heartbeats, self.decisions, self.replies]

    @property
    def log_indexer_group(self) -> str:
        return f"{self.prefix}-log-indexer"

    def inbox(self, connector_id: str) -> str:
        return f"{self.prefix}.out.{connector_id}"

    def connector_group(self, connector_id: str) -> str:
        return f"{self.prefix}.connector.{connector_id}"


def retention_configs(retention_ms: int, retention_bytes: int, segment_bytes: int) -> dict[str, str]:
    """Kafka deletes whole closed segments: a segment rolls at `segment_bytes` or after a tenth of the
    retention time, so old data goes within about 1.1 × retention."""
    return {"cleanup.policy": "delete", "retention.ms": str(retention_ms), "retention.bytes": str(retention_bytes),
            "segment.bytes": str(segment_bytes), "segment.ms": str(max(retention_ms // 10, 1)),
            "max.message.bytes": str(RECORD_BYTES_MAX)}


# The ingress takes the broker's clock: a signature's age is judged against when the broker appended the
# record, which no sender can set, so a router that was away routes its backlog instead of finding it stale.
APPEND_TIME = {"message.timestamp.type": "LogAppendTime"}
LOG_APPEND_TIME = 1  # a record's timestamp_type when the broker set its timestamp


def arrived_at(record: Any, now: float) -> float:
    """When the broker took a record (seconds), if it says so; else `now` (a topic on the sender's clock)."""
    return record.timestamp / 1000 if record.timestamp_type == LOG_APPEND_TIME else now


def delivery(transactions: bool) -> str:
    """The guarantee the hub's readers get, as /v1/health and the start-up summary say it."""
    return "exactly-once" if transactions else "at-least-once"


@dataclass(frozen=True)
class BrokerLink:
    """What a client needs to reach a hub's broker: the address, the namespace, how to produce."""

    bootstrap_servers: str
    topics: Topics
    idempotence: bool = False
    transactions: bool = False  # the router routes each batch in a Kafka transaction: exactly-once
    login: BrokerLogin | None = field(default=None, compare=False)  # None: the broker takes anyone

    @property
    def client(self) -> dict[str, Any]:
        """Where and as whom every aiokafka client of this link connects."""
        return {"bootstrap_servers": self.bootstrap_servers, **(self.login.options() if self.login else {})}

    def as_login(self, login: BrokerLogin | None) -> BrokerLink:
        return replace(self, login=login)

    @property
    def delivery(self) -> str:
        return delivery(self.transactions)

    @property
    def isolation_level(self) -> str:
        """How the hub's readers read: only committed transactions when the router writes in them."""
        return "read_committed" if self.transactions else "read_uncommitted"

    @classmethod
    def from_health(cls, health: dict, credential: str | None = None) -> BrokerLink:
        """From a hub's `GET /v1/health` answer, as the principal of `credential` ('username:password')."""
        broker = health["broker"]
        security = broker.get("security")
        login = BrokerLogin.parse(credential, security) if credential and security else None
        return cls(broker["bootstrap_servers"], Topics(broker["topic_prefix"]), broker["idempotence"],
                   broker.get("delivery") == "exactly-once", login)
