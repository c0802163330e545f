"""The replay window: which messages a source already had routed while their signatures are still fresh.

A signed message captured on the wire can be sent again, byte for byte, while its signature is fresh
(hub.core.credentials.fresh); once it is not, freshness refuses it. Within that time the window remembers
each message routed, by (source, message id), with where it was first read from (ingress partition, offset)
and until when its signature is fresh. The same message again is

- a re-delivery when it is the same record, read from the same partition and offset: the router reading a
  batch again after a crash, a rebalance or an aborted transaction. It is routed as the first time was.
- a replay otherwise (another offset, or over HTTP where there is none): refused, stage `auth`, rule
  `notReplayed`.

The message id is the envelope's id; for a payload the hub wrapped in an envelope of its own at its HTTP
edge (a service call sent as the payload alone) each wrapping has a new id, so the signature of the payload
names it instead.

Bounded twice: an entry leaves when its signature stops being fresh (so the window holds what a worker
routed in about LGSP_SIGNATURE_MAX_AGE_SECONDS), and at `cap` entries the oldest is evicted, counted in
`evicted`: a replay of an evicted message is then not caught by the window (only by freshness, later).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from hub.core.credentials import canonical, signing_time
from hub.core.envelope import Envelope
from hub.core.rejection import FieldError, Rejection
from hub.core.routing import Delivery

DEFAULT_CAP = 1_000_000  # ~300 bytes an entry: about 300 MB at the cap, 3,300 msg/s for 5 minutes
Position = tuple[int, int]  # (ingress partition, offset)


@dataclass(frozen=True, slots=True)
class _Seen:
    position: Position | None
    fresh_until: float


class ReplayWindow:
    """Messages routed while their signatures are fresh, keyed by (source, message id). Not thread-safe:
    one per router worker, or per API process, each used from its event loop."""

    def __init__(self, max_age: float, cap: int = DEFAULT_CAP) -> None:
        if cap < 1:
            raise ValueError(f"cap: a replay window holds at least one entry, not {cap}")
        self.max_age, self.cap = max_age, cap
        self.evicted = 0  # entries dropped at the cap before their signature expired
        self._seen: OrderedDict[tuple[str, str], _Seen] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def admit(self, source: str, message_id: str, signed_at: int, now: float,
              position: Position | None = None) -> bool:
        """Remember the message and say True, or say False: it is a replay. The same `position` again is a
        re-delivery (True); without a position every repeat is a replay."""
        self._expire(now)
        key = (source, message_id)
        seen = self._seen.get(key)
        if seen is not None and seen.fresh_until >= now:
            return position is not None and seen.position == position
        self._seen.pop(key, None)  # re-inserted at the end: the order stays arrival order
        self._seen[key] = _Seen(position, signed_at + self.max_age)
        if len(self._seen) > self.cap:
            self._seen.popitem(last=False)
            self.evicted += 1
        return True

    def forget(self, envelope: Envelope, signature: bytes | str | None = None) -> None:
        """The message was not accepted after all (its ingress write failed): a retry is not a replay."""
        self._seen.pop((envelope.source, message_id(envelope, signature)), None)

    def _expire(self, now: float) -> None:
        """From the oldest arrival on. Arrival order is nearly signing order (signatures are fresh on
        arrival), so an entry that outlives the ones behind it holds them back a little, never long."""
        seen = self._seen
        while seen:
            key, first = next(iter(seen.items()))
            if first.fresh_until >= now:
                return
            del seen[key]

    def screen(self, outcome: Delivery | Rejection, signed_at: bytes | str | None, now: float,
               position: Position | None = None, signature: bytes | str | None = None) -> Delivery | Rejection:
        """A delivery as decided, or its refusal as a replay (a refusal stays as it is). `signed_at`: the
        seal's, already found fresh. `signature`: given for a payload the hub wrapped, whose envelope id is
        new at every wrapping."""
        if isinstance(outcome, Rejection):
            return outcome
        envelope = outcome.envelope
        if self.admit(envelope.source, message_id(envelope, signature), signing_time(signed_at), now, position):
            return outcome
        return Rejection.of("auth", [FieldError("envelope.id", "notReplayed", (
            f"message {envelope.id} from {envelope.source!r} was already accepted in the last {self.max_age:g} s: "
            "a message is accepted once; a new message needs a new id"))], envelope)


def message_id(envelope: Envelope, signature: bytes | str | None = None) -> str:
    """The id the window knows a message by: its envelope's, or the signature of a payload the hub wrapped."""
    if signature is None:
        return str(envelope.id)
    return "signature:" + canonical(signature)
