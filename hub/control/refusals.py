"""Which refusals at the HTTP edge are kept in full, and which only counted: one home for the rule.

Every refusal is kept in full, on the DLQ and in the message log, so that an authenticated sender loses no
message. A refusal at authentication (unsigned, unknown or revoked credential, bad signature) proves the
sender to be no one, and anyone who reaches the API could send those without end: per client address, a
token bucket (LGSP_REFUSALS_BURST, refilled at LGSP_REFUSALS_PER_MINUTE) keeps them in full, and past it
they are counted instead, per address and rule, and in `lgsp_refusals_suppressed_total`. The auth rules
checked after a valid signature (the source is the signer, the payload is the one signed) name a proven
sender: those are kept in full, like every later stage's; a call refused before its signature is checked
(no such provider or service) is kept in full when its signature verifies. At most LGSP_REFUSALS_ADDRESSES
addresses are tracked, the least recently seen forgotten first, so that memory stays bounded whatever the
sender does.
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from prometheus_client import Counter as Metric

from hub.core.rejection import Rejection

# No address label: one series per rule, however many addresses send.
SUPPRESSED = Metric("lgsp_refusals_suppressed", "Refusals of unauthenticated senders counted instead of kept in "
                    "full (past LGSP_REFUSALS_PER_MINUTE from one address).", ["stage", "rule"])
AFTER_SIGNATURE = ("signerIsSource", "signedPayload")  # auth rules that follow a signature found valid

log = logging.getLogger(__name__)


def unauthenticated(rejection: Rejection) -> bool:
    """Refused before any signature was found valid: the sender is not proven to be anyone."""
    return rejection.stage == "auth" and not any(error.rule in AFTER_SIGNATURE for error in rejection.errors)


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class Suppressed:
    """One address's refusals counted instead of kept: per rule, with the first and last one's time."""

    first_at: float
    last_at: float
    rules: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.rules.values())

    def view(self, address: str) -> dict[str, Any]:
        return {"address": address, "suppressed": self.total, "rules": dict(self.rules.most_common()),
                "first_at": _iso(self.first_at), "last_at": _iso(self.last_at)}


class Refusals:
    def __init__(self, per_minute: int, burst: int, addresses: int) -> None:
        self.per_minute, self.burst, self.addresses = per_minute, burst, addresses
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._suppressed: OrderedDict[str, Suppressed] = OrderedDict()
        self.forgotten = 0  # counted refusals of addresses no longer tracked: the totals still add up

    def keep(self, address: str | None, rejection: Rejection, now: float, proven: bool | None = None) -> bool:
        """Whether to keep this refusal in full; when not, it is counted. `now`: unix seconds. `proven`: whether
        the sender's signature verified, when the rejection cannot say (a call refused before its signature
        was checked); None: the rejection says."""
        unproven = unauthenticated(rejection) if proven is None else not proven
        if address is None or not unproven or self._take(address, now):
            return True
        self._count(address, rejection, now)
        return False

    def _take(self, address: str, now: float) -> bool:
        """A token of the address's bucket, if it has one left."""
        bucket = _recent(self._buckets, address, lambda: _Bucket(float(self.burst), now))
        while len(self._buckets) > self.addresses:
            self._buckets.popitem(last=False)  # forgotten: its next refusal finds a full bucket
        elapsed = max(now - bucket.at, 0.0)  # a clock set back refills nothing
        bucket.tokens, bucket.at = min(self.burst, bucket.tokens + elapsed * self.per_minute / 60), now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    def _count(self, address: str, rejection: Rejection, now: float) -> None:
        if address not in self._suppressed:  # once per address tracked, not once per request
            log.warning("%s is past its %d unauthenticated refusals kept in full (and %d a minute after): the "
                        "rest are counted, not kept (GET /v1/refusals)", address, self.burst, self.per_minute)
        counted = _recent(self._suppressed, address, lambda: Suppressed(now, now))
        while len(self._suppressed) > self.addresses:
            self.forgotten += self._suppressed.popitem(last=False)[1].total
        rule = rejection.errors[0].rule
        counted.rules[rule] += 1
        counted.last_at = now
        SUPPRESSED.labels(rejection.stage, rule).inc()

    @property
    def total(self) -> int:
        return self.forgotten + sum(counted.total for counted in self._suppressed.values())

    def view(self, limit: int) -> dict[str, Any]:
        """The addresses with the most refusals counted, most first (the most recently seen, of equal ones)."""
        top = sorted(reversed(self._suppressed.items()), key=lambda item: item[1].total, reverse=True)[:limit]
        return {"per_minute": self.per_minute, "burst": self.burst, "suppressed": self.total,
                "addresses_tracked": len(self._suppressed), "forgotten": self.forgotten,
                "addresses": [counted.view(address) for address, counted in top]}


def _recent(table: OrderedDict, address: str, new: Callable[[], Any]) -> Any:
    """The address's entry (a new one if none), moved to the most recent end."""
    entry = table.pop(address, None)
    table[address] = entry = new() if entry is None else entry
    return entry


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat()
