"""Data-sharing agreements: which fields of a message type a consumer may receive from a provider, for which
purpose, on which legal basis, and for how long (Decree 47/2020/NĐ-CP, Decree 13/2023/NĐ-CP).

A type-level grant (the registration's `consumes`) says a consumer may receive a type at all. Once any
agreement names a consumer and a type, the grant alone no longer suffices: the consumer receives that type
only from a provider whose agreement is in force, and only the fields it lists (a projection of the
payload). Pure logic: the router projects, the hub signs (hub.core.hub_signature).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Annotated, Any

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from hub.core.envelope import ConnectorId, MessageType

# RFC 6901 pointers of object members into the payload (`/ChuHoSo/HoVaTen`); `~0` and `~1` escape `~` and `/`.
Pointer = Annotated[str, StringConstraints(pattern=r"^(/([^~/]|~[01])+)+$", max_length=300)]
AgreementId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")]


class Purpose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=50, description="The purpose's code, e.g. XAC_THUC_CONG_DAN.")
    text: str = Field(min_length=1, max_length=500)


class Terms(BaseModel):
    """What an agreement says: the operator writes these."""

    model_config = ConfigDict(extra="forbid")

    provider: ConnectorId
    consumer: ConnectorId
    types: list[MessageType] = Field(min_length=1, max_length=50)
    fields: list[Pointer] = Field(min_length=1, max_length=200, description="JSON Pointers (RFC 6901) of the "
                                  "payload members the consumer may receive; a member named whole carries all below it.")
    purpose: Purpose
    legal_basis: str = Field(min_length=1, max_length=500,
                             description='The document it rests on, e.g. "Nghị định 47/2020/NĐ-CP, Điều 15".')
    valid_from: AwareDatetime
    valid_to: AwareDatetime | None = None

    def problems(self) -> list[dict[str, str]]:
        """Rules across its fields (the control plane checks those that need the registry)."""
        problems = []
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            problems.append({"field": "valid_to", "rule": "afterValidFrom", "message": "must be after valid_from"})
        if self.provider == self.consumer:
            problems.append({"field": "consumer", "rule": "notProvider",
                             "message": "the provider and the consumer must differ"})
        return problems


class Agreement(Terms):
    """An agreement as the hub keeps it."""

    id: AgreementId
    version: int = Field(ge=1)
    ended_at: AwareDatetime | None = None  # ended by the operator: delivery stops at once
    changed_at: AwareDatetime
    changed_by: str

    def in_force(self, now: float) -> bool:
        start, until = self._period
        return start <= now < until

    @cached_property
    def _period(self) -> tuple[float, float]:
        """When it starts and stops being in force, in Unix seconds: judged for every delivery it governs."""
        until = min((t.timestamp() for t in (self.valid_to, self.ended_at) if t is not None), default=math.inf)
        return self.valid_from.timestamp(), until

    def overlaps(self, other: Terms) -> bool:
        """Same parties and a type in common over a common period: two agreements would govern one delivery."""
        if (self.provider, self.consumer) != (other.provider, other.consumer) or not set(self.types) & set(other.types):
            return False
        until = min((t for t in (self.valid_to, self.ended_at) if t is not None), default=None)
        return _before(other.valid_from, until) and _before(self.valid_from, other.valid_to)


def _before(start: datetime, end: datetime | None) -> bool:
    return end is None or start < end


def unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def tokens(pointer: str) -> tuple[str, ...]:
    return tuple(unescape(token) for token in pointer.split("/")[1:])


class Projection:
    """A payload cut down to some members, through a tree of the pointers (a pointer below one taken whole
    adds nothing)."""

    def __init__(self, pointers: Iterable[str]) -> None:
        self.fields = tuple(pointers)
        self.tree: dict[str, Any] = {}
        for pointer in self.fields:
            node = self.tree
            *parents, last = tokens(pointer)
            for token in parents:
                if node.get(token) is True:  # an ancestor is taken whole already
                    break
                node = node.setdefault(token, {})
            else:
                node[last] = True

    def __call__(self, payload: dict[str, Any]) -> dict[str, Any]:
        return _cut(payload, self.tree)


def _cut(value: dict[str, Any], tree: dict[str, Any]) -> dict[str, Any]:
    kept = {}
    for name, below in tree.items():
        if name not in value:
            continue
        if below is True:
            kept[name] = value[name]
        elif isinstance(value[name], dict):
            kept[name] = _cut(value[name], below)
    return kept


@dataclass(frozen=True, slots=True)
class Withheld:
    """A delivery no agreement in force allows: refused for that consumer alone."""

    consumer: str
    reason: str


@dataclass(frozen=True)
class Agreements:
    """The agreements routing reads: an immutable snapshot, swapped whole with the catalog."""

    governing: dict[tuple[str, str], tuple[Agreement, ...]] = field(default_factory=dict)  # (consumer, type) →
    by_id: dict[str, Agreement] = field(default_factory=dict)
    _projections: dict[str, Projection] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, agreements: Iterable[Agreement]) -> Agreements:
        governing: dict[tuple[str, str], list[Agreement]] = {}
        by_id = {}
        for agreement in agreements:
            by_id[agreement.id] = agreement
            for type in agreement.types:
                governing.setdefault((agreement.consumer, type), []).append(agreement)
        return cls({key: tuple(found) for key, found in governing.items()}, by_id,
                   {a.id: Projection(a.fields) for a in by_id.values()})

    def terms(self, source: str, consumer: str, type: str, now: float) -> Agreement | Withheld | None:
        """The agreement a delivery follows; None when none names the consumer and type (the grant alone
        holds); Withheld when some do but none from this source is in force at `now`."""
        found = self.governing.get((consumer, type))
        if found is None:
            return None
        ours = [a for a in found if a.provider == source]
        current = next((a for a in ours if a.in_force(now)), None)
        if current is not None:
            return current
        if not ours:
            why = f"no data-sharing agreement lets {consumer!r} receive {type} from {source!r}"
        else:
            why = f"the data-sharing agreement {ours[-1].id!r} letting {consumer!r} receive {type} from {source!r} " \
                  f"is not in force"
        return Withheld(consumer, why)

    def projection(self, agreement: Agreement) -> Projection:
        """Its projection, compiled once per snapshot (an agreement decided on under the last snapshot too)."""
        found = self._projections.get(agreement.id)
        if found is None or found.fields != tuple(agreement.fields):
            found = Projection(agreement.fields)
        return found


def projected(raw: bytes, projection: Projection) -> bytes:
    """The message a consumer receives under an agreement: the envelope as sent (`raw`, which routing found
    valid), its payload projected."""
    fields = orjson.loads(raw)
    fields["payload"] = projection(fields["payload"])
    return orjson.dumps(fields)


def unknown_member(schema: dict[str, Any], pointer: str) -> str | None:
    """Why `pointer` names no member of payloads `schema` allows (None: it does), following `properties`
    and the schema's own `$defs`; a part the schema leaves open (no `properties`) takes any name."""
    node, walked = schema, ""
    for token in tokens(pointer):
        node = _resolved(schema, node)
        members = node.get("properties")
        if members is None:
            return None if node.get("type", "object") == "object" else f"{walked or 'the payload'} has no members"
        if token not in members:
            return f"{walked or 'the payload'} has no member {token!r}"
        node, walked = members[token], f"{walked}/{token}"
    return None


def _resolved(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref", "")
    if ref.startswith("#/$defs/"):
        return schema.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {})
    return node
