"""The envelope every message travels in, and its wire codec (JSON via orjson)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any
from uuid import UUID

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, InstanceOf, StringConstraints

from hub.core.ids import uuid7

# Connector ids become Kafka topic names (lgsp.out.<id>): keep them to safe characters.
ConnectorId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
MessageType = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$", max_length=100)]


class Envelope(BaseModel):
    """Routing metadata around a payload. `id` is the de-duplication key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: UUID
    type: MessageType
    version: int = Field(ge=1)
    source: ConnectorId
    target: ConnectorId | None = None
    key: str | None = Field(None, max_length=256, description="Ordering key, used as the Kafka message key.")
    correlation_id: UUID | None = None
    occurred_at: AwareDatetime
    payload: InstanceOf[dict]  # checked, not copied

    @classmethod
    def new(cls, type: str, version: int, source: str, payload: dict[str, Any], **fields: Any) -> Envelope:
        return cls(id=uuid7(), type=type, version=version, source=source, payload=payload,
                   occurred_at=fields.pop("occurred_at", None) or datetime.now(timezone.utc), **fields)

    def reply(self, type: str, version: int, source: str, payload: dict[str, Any]) -> Envelope:
        """A reply to this message: addressed to its sender, correlated by its id."""
        return Envelope.new(type, version, source, payload, target=self.source, key=self.key,
                            correlation_id=self.correlation_id or self.id)


def encode(envelope: Envelope) -> bytes:
    return orjson.dumps(envelope.model_dump(exclude_none=True))


def decode(raw: bytes) -> Envelope:
    """Strict decode; raises orjson.JSONDecodeError or pydantic.ValidationError."""
    return Envelope.model_validate(orjson.loads(raw))
