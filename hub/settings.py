"""The settings objects, read from LGSP_* environment variables (and KAFKA_BOOTSTRAP_SERVERS): nothing else
reads the environment. `Settings` is the hub's; a client of a hub has `hub.sdk.settings.ClientSettings`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.bus.broker_security import BrokerLogin
from hub.bus.topics import PREFIX_PATTERN, BrokerLink, Topics, retention_configs


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LGSP_", extra="ignore")

    broker: Literal["kafka", "tansu"] = Field(
        "kafka", description="Apache Kafka (run by the hub from Maven Central's jars, or KAFKA_BOOTSTRAP_SERVERS), "
        "or tansu: the light broker without Java, memory only, for short runs.")
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "LGSP_KAFKA_BOOTSTRAP_SERVERS"),
        description="An existing cluster (of the kind LGSP_BROKER names); unset: the hub starts its own broker.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] | None = Field(
        None, validation_alias=AliasChoices("KAFKA_SECURITY_PROTOCOL", "LGSP_KAFKA_SECURITY_PROTOCOL"),
        description="How the hub authenticates to an existing cluster (unset: SASL_PLAINTEXT when a SASL username "
        "is given, else PLAINTEXT). The hub's own Apache Kafka always takes SASL/SCRAM.")
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = Field(
        "SCRAM-SHA-512", validation_alias=AliasChoices("KAFKA_SASL_MECHANISM", "LGSP_KAFKA_SASL_MECHANISM"),
        description="The SASL mechanism of an existing cluster.")
    kafka_sasl_username: str | None = Field(
        None, validation_alias=AliasChoices("KAFKA_SASL_USERNAME", "LGSP_KAFKA_SASL_USERNAME"),
        description="The hub's principal on an existing cluster: with cluster ALTER it creates a principal and "
        "ACLs per connector.")
    kafka_sasl_password: SecretStr | None = Field(
        None, validation_alias=AliasChoices("KAFKA_SASL_PASSWORD", "LGSP_KAFKA_SASL_PASSWORD"),
        description="Its password.")
    kafka_ssl_cafile: Path | None = Field(
        None, validation_alias=AliasChoices("KAFKA_SSL_CAFILE", "LGSP_KAFKA_SSL_CAFILE"),
        description="CA certificates the cluster's TLS certificate is checked against (SASL_SSL; unset: the "
        "system's).")
    topic_prefix: str = Field("lgsp", pattern=PREFIX_PATTERN,
                              description="Namespace of every topic and consumer group of this hub.")
    kafka_data_dir: Path = Field(Path(".lgsp/kafka"), description="Where the hub's own Apache Kafka keeps its data.")
    kafka_cache_dir: Path = Field(Path.home() / ".cache" / "lgsp-hub" / "kafka",
                                  description="Where Maven puts Apache Kafka's jars, one folder per version.")
    kafka_port: int | None = Field(None, ge=1, le=65535, description="Port of the hub's own Apache Kafka (unset: free).")
    kafka_heap_mb: int = Field(768, ge=256, description="Java heap of the hub's own Apache Kafka.")
    kafka_version: str | None = Field(None, pattern=r"^\d+\.\d+\.\d+$",
                                      description="Apache Kafka version to run (unset: the one hub/brokers/pom.xml pins).")
    database_url: str = Field("sqlite:///lgsp-hub.db", description="SQLAlchemy URL of the store.")
    host: str = Field("127.0.0.1", description="Address the control plane listens on.")
    port: int = Field(8080, description="Port of the control plane.")
    schemas_dir: Path | None = Field(None, description="Extra directory of <type>/v<N>.json schemas.")
    partitions: int = Field(6, ge=1, description="Partitions of every hub topic created.")
    retention_ms: int = Field(7 * 24 * 3600 * 1000, ge=1, description="retention.ms set on hub topics.")
    retention_bytes: int = Field(1 << 30, ge=-1, description="retention.bytes (per partition) set on hub topics.")
    segment_bytes: int = Field(64 << 20, ge=1 << 20, description="segment.bytes set on hub topics (Kafka deletes "
                               "whole segments: a smaller one frees space sooner).")
    router: bool = Field(True, description="The hub routes (off: only `lgsp-hub router` workers started apart do).")
    router_processes: int = Field(1, ge=0, description="Router workers the hub runs as processes of its own, each "
                                  "with a core's worth of its own (0: it routes in the API process).")
    router_metrics_port: int | None = Field(
        None, ge=1, le=65535, description="Port where a `lgsp-hub router` worker serves /metrics (unset: none).")
    router_batch_max: int = Field(2000, ge=1, description="Records routed per batch at most.")
    router_behind_seconds: float = Field(
        60.0, gt=0, description="The dashboard shows the router behind when its lag grew over this long.")
    router_behind_messages: int = Field(
        1000, ge=0, description="…and is above this many messages (half a second at 2,000 msg/s: the batches in "
        "flight stay below it).")
    max_message_bytes: int = Field(1_000_000, ge=1024, description="Largest message accepted.")
    refresh_seconds: float = Field(2.0, gt=0, description="How often a worker reloads connectors and schemas.")
    tansu_max_rss_mb: int = Field(
        4096, ge=64, description="Memory the hub's own tansu may use before HTTP ingress refuses (503)."
    )
    operator_token: SecretStr | None = Field(
        None, description="Bearer token for control-plane writes and personal-data reads; unset: one per run.")
    require_signatures: bool = Field(
        True, description="Route only messages signed by an active connector credential (off: benchmarks only).")
    signature_max_age_seconds: float = Field(
        300.0, gt=0, description="A signature older than this (by its lgsp.signed-at time) is refused, and so is "
        "one dated more than 30 s ahead; within it, a message accepted once is refused again (notReplayed).")
    replay_window_max_entries: int = Field(
        1_000_000, ge=1, description="Messages each router worker and API process remembers against replays; at "
        "the cap the oldest is forgotten (lgsp_replay_window_evicted counts them).")
    credential_grace_seconds: float = Field(
        3600.0, ge=0, description="How long a rotated-out credential stays valid beside the new one.")
    inventory: Path | None = Field(
        None, description="TOML file of the province's inventory (agencies, information systems, targets), loaded "
        "into the store at start; a scenario file will do. Unset: the one stored (PUT /v1/inventory).")
    heartbeat_timeout_seconds: float = Field(15.0, gt=0, description="Silence after which a connector is UNREACHABLE.")
    connectivity_window_seconds: float = Field(
        60.0, gt=0, description="A system counts as connected when its connector was heard from this recently.")
    dlq_buffer: int = Field(10_000, ge=10, description="Dead letters kept for GET /v1/dlq.")
    refusals_per_minute: int = Field(
        60, ge=1, description="Refusals at authentication (unsigned, unknown credential, bad signature) kept in full "
        "per client address and minute, once its burst is spent; the rest are counted (GET /v1/refusals).")
    refusals_burst: int = Field(60, ge=1, description="Such refusals one address may have kept in full at once.")
    refusals_addresses: int = Field(
        10_000, ge=1, description="Client addresses whose refusals are limited and counted at most (the least "
        "recently seen are forgotten first).")
    max_request_bytes: int = Field(
        1 << 20, ge=1024, description="Largest request body on every path but POST /v1/messages (schemas are large).")
    log_payload: dict[str, Literal["full", "metadata", "none"]] = Field(
        default_factory=dict, description='Message log payload mode per type pattern (fnmatch), as JSON: '
        '{"dossier.*": "full"}; unmatched types are logged in "metadata" mode (SHA-256 only).')
    log_retention_days: float = Field(
        90, ge=0, description="Message log records older than this are pruned (0: kept for good).")
    attachments_dir: Path | None = Field(
        None, description="Where attachments (POST /v1/attachments) keep their bytes, one file each, shared by every "
        "API process and log indexer of the hub; unset: in the store's database. Their metadata is in the store.")
    max_attachment_bytes: int = Field(32 << 20, ge=1024, description="Largest attachment accepted.")
    log_indexer: bool = Field(True, description="Build the message log from the decisions topic in the API process "
                              "(off: `lgsp-hub log-indexer` processes do it).")
    log_indexer_metrics_port: int | None = Field(
        None, ge=1, le=65535, description="Port where a `lgsp-hub log-indexer` process serves /metrics (unset: none).")
    service_timeout_seconds: float = Field(
        10.0, gt=0, description="How long a synchronous call (POST /v1/services/…) waits for its reply by default.")
    service_timeout_max_seconds: float = Field(
        60.0, gt=0, description="The longest wait a caller may ask for (?timeout=).")
    replies_partition: int | None = Field(
        None, ge=0, description="The partition of <prefix>.replies this API process reads its calls' replies from "
        "(unset: one at random). API processes may share one: each takes only the replies it waits for.")
    kafka_idempotence: bool | None = Field(
        None, description="Idempotent producers (enable_idempotence); unset: on for Apache Kafka, off for tansu.")

    delivery: Literal["exactly-once", "at-least-once"] | None = Field(
        None, description="exactly-once routes each batch in a Kafka transaction (Apache Kafka only); unset: "
        "exactly-once on Apache Kafka, at-least-once on tansu, which has no transactions.")

    @model_validator(mode="after")
    def _transactions_need_kafka(self) -> Settings:
        if self.delivery == "exactly-once" and self.broker != "kafka":
            raise ValueError("LGSP_DELIVERY=exactly-once needs LGSP_BROKER=kafka: tansu has no transactions")
        return self

    @property
    def broker_login(self) -> BrokerLogin | None:
        """The hub's principal on an existing cluster, from KAFKA_SASL_*; None without authentication."""
        protocol = self.kafka_security_protocol or ("SASL_PLAINTEXT" if self.kafka_sasl_username else "PLAINTEXT")
        if protocol == "PLAINTEXT":
            return None
        if not self.kafka_sasl_username or self.kafka_sasl_password is None:
            raise ValueError(f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
        return BrokerLogin(self.kafka_sasl_username, self.kafka_sasl_password.get_secret_value(),
                           self.kafka_sasl_mechanism, protocol, self.kafka_ssl_cafile)

    @property
    def cluster_link(self) -> BrokerLink:
        """The existing cluster KAFKA_BOOTSTRAP_SERVERS names, as the principal KAFKA_SASL_* gives."""
        return BrokerLink(self.kafka_bootstrap_servers, self.topics, self.idempotence, self.transactions,
                          self.broker_login)

    @property
    def idempotence(self) -> bool:
        return self.broker == "kafka" if self.kafka_idempotence is None else self.kafka_idempotence

    @property
    def transactions(self) -> bool:
        return self.broker == "kafka" if self.delivery is None else self.delivery == "exactly-once"

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_prefix)

    def topic_configs(self) -> dict[str, str]:
        return retention_configs(self.retention_ms, self.retention_bytes, self.segment_bytes)
