"""Registered connectors, and the snapshot of them that routing reads."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.core.agreements import Agreements
from hub.core.envelope import ConnectorId, MessageType
from hub.core.inventory import AgencyLevel

# A connector may also stand for a national system, which no province inventory lists.
ConnectorLevel = Literal["national", AgencyLevel]


class Service(BaseModel):
    """A synchronous service a provider answers: callers send `request` and wait for `reply`."""

    model_config = ConfigDict(extra="forbid")

    request: MessageType
    reply: MessageType
    description: str | None = Field(None, max_length=500)


class ConnectorSpec(BaseModel):
    """A connector's registration: who it is and which message types it sends and receives."""

    model_config = ConfigDict(extra="forbid")

    id: ConnectorId
    name: str = Field(min_length=1, max_length=200)
    agency: str = Field(min_length=1, max_length=100, description="Owning agency (code or name).")
    level: ConnectorLevel = "province"
    systems: list[str] = Field(default_factory=list, description="Information systems of the province it connects.")
    produces: list[MessageType] = Field(default_factory=list)
    consumes: list[MessageType] = Field(default_factory=list)
    serves: list[Service] = Field(default_factory=list, description="Services it answers: each request type "
                                  "(among `consumes`) with its reply type (among `produces`).")

    def service(self, request: str) -> Service | None:
        return next((service for service in self.serves if service.request == request), None)


@dataclass(frozen=True)
class Directory:
    """An immutable view for the router: swapped whole when the registry changes."""

    connectors: dict[str, ConnectorSpec] = field(default_factory=dict)
    subscribers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    agreements: Agreements = field(default_factory=Agreements)
    _fanout: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    def fanout(self, type: str, source: str) -> tuple[str, ...]:
        """Subscribers of `type` except `source`, memoised (the view is immutable)."""
        targets = self._fanout.get((type, source))
        if targets is None:
            targets = self._fanout[(type, source)] = tuple(c for c in self.subscribers.get(type, ()) if c != source)
        return targets

    def answers(self, source: str, type: str) -> bool:
        """`type` is the reply of a service `source` serves: a message the router may take to a waiting call."""
        spec = self.connectors.get(source)
        return spec is not None and any(service.reply == type for service in spec.serves)

    @classmethod
    def of(cls, specs: Iterable[ConnectorSpec], agreements: Agreements | None = None) -> Directory:
        by_id = {spec.id: spec for spec in specs}
        subscribers: dict[str, list[str]] = {}
        for spec in by_id.values():
            for type in spec.consumes:
                subscribers.setdefault(type, []).append(spec.id)
        return cls(by_id, {type: tuple(sorted(ids)) for type, ids in subscribers.items()}, agreements or Agreements())
