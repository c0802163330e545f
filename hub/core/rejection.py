"""Why a message was refused: the stage, and each broken rule with its field.

A rejection travels with the refused message's original bytes: as dead-letter record headers on the
DLQ (Kafka Connect's layout, `lgsp.error.*`), and as columns of the message log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any, Literal

import orjson

from hub.core.envelope import Envelope

Stage = Literal["auth", "decode", "envelope", "schema", "routing", "handler"]  # handler: a connector gave up on it
DEAD_LETTER_PREFIX = "lgsp.error."


@dataclass(frozen=True, slots=True)
class FieldError:
    """One broken rule: where (a dotted path from the envelope), which keyword, and why."""

    field: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def field_errors(errors: Iterable[Mapping[str, Any]], *within: str) -> list[FieldError]:
    """pydantic's errors (`ValidationError.errors()`, FastAPI's `RequestValidationError.errors()`) as broken
    rules: the location dotted (below `within`), pydantic's error type as the rule."""
    return [FieldError(".".join([*within, *map(str, error["loc"])]), error["type"], error["msg"]) for error in errors]


def describe(errors: Iterable[Mapping[str, Any]], whole: str) -> str:
    """A file's broken rules for a person, one line each: `dotted.field.2.path: message` (`whole` when the
    rule is about the document itself)."""
    lines = [f"{e.field or whole}: {e.message}" for e in field_errors(errors)]
    return f"{len(lines)} problem(s)\n  " + "\n  ".join(lines)


@dataclass(frozen=True, slots=True)
class Rejection:
    stage: Stage
    reason: str
    errors: tuple[FieldError, ...] = ()
    envelope: Envelope | None = None
    withheld: tuple[Any, ...] = ()  # hub.core.agreements.Withheld: consumers no agreement in force let receive it

    @classmethod
    def of(cls, stage: Stage, errors: list[FieldError], envelope: Envelope | None = None,
           withheld: tuple[Any, ...] = ()) -> Rejection:
        first = errors[0]
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        return cls(stage, f"{first.field}: {first.message} [rule: {first.rule}]{more}", tuple(errors), envelope,
                   withheld)


def dead_letter_headers(rejection: Rejection, topic: str, partition: int, offset: int) -> list[tuple[str, bytes]]:
    errors = [e.as_dict() for e in rejection.errors]
    fields = {
        "stage": rejection.stage,
        "reason": rejection.reason,
        "errors": orjson.dumps(errors).decode(),
        "topic": topic,
        "partition": str(partition),
        "offset": str(offset),
        "at": datetime.now(timezone.utc).isoformat(),
    }
    return [(DEAD_LETTER_PREFIX + name, value.encode()) for name, value in fields.items()]
