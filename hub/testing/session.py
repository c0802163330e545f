"""Recording a fixture from a running hub, and replaying one with a check of every outcome."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import orjson
from aiokafka import AIOKafkaProducer

from hub.bus.topics import RECORD_BYTES_MAX, BrokerLink
from hub.core.credentials import Credential
from hub.core.ids import uuid7
from hub.sdk.registrar import HttpRegistrar, RegistrationClient
from hub.sdk.settings import ClientSettings
from hub.testing.format import Fixture, FixtureMessage, Outcome
from hub.testing.tap import Tap, envelope_id

SETTLE_SECONDS = 2.0  # quiet time after which what has not happened is taken as not happening

Progress = Callable[[int], None]


class HubLink:
    """A hub reached over HTTP: its broker address, registrations and connector list."""

    def __init__(self, url: str, token: str | None = None, settings: ClientSettings | None = None,
                 broker_credential: str | None = None) -> None:
        settings = settings or ClientSettings()
        self.url = url.rstrip("/")
        # The operator token (default LGSP_OPERATOR_TOKEN): registering and reading the message log need it.
        self.token = token or settings.token
        # Tapping every inbox and the ingress takes a broker principal allowed to read them all (default
        # LGSP_BROKER_CREDENTIAL); a broker without ACLs takes anyone.
        self.broker_credential = broker_credential or settings.broker_secret

    async def _get(self, path: str, **params: Any) -> Any:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(self.url + path, params=params)
            response.raise_for_status()
            return response.json()

    async def broker(self) -> BrokerLink:
        return await asyncio.to_thread(RegistrationClient(self.url).broker, self.broker_credential)

    async def connectors(self) -> list[dict[str, Any]]:
        return [entry["info"] for entry in (await self._get("/v1/connectors", expand="info")).values()]

    async def inventory(self) -> dict[str, Any] | None:
        """The province's inventory the hub binds registrations to; None when it has none loaded."""
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(f"{self.url}/v1/inventory")
        return response.json() if response.status_code == 200 else None

    async def decisions(self, message_id: str | None) -> list[dict[str, Any]]:
        """The routing decisions the message log holds for a message; none without the operator token."""
        if not message_id or not self.token:
            return []
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(f"{self.url}/v1/messages/{message_id}",
                                        headers={"Authorization": f"Bearer {self.token}"})
        return response.json()["decisions"] if response.status_code == 200 else []

    async def register(self, spec: dict[str, Any]) -> Credential:
        """Register (or update) a connector and take a fresh credential to sign its messages with."""
        return await HttpRegistrar(self.url, self.token).register(spec)


# --- record ---------------------------------------------------------------------------------------
async def record(link: HubLink, types: set[str] | None = None, duration: float | None = None,
                 count: int | None = None, progress: Progress | None = None) -> Fixture:
    """Tap the hub until `duration` seconds passed or `count` messages were seen, then let outcomes settle;
    an outcome the tap did not see is looked up in the hub's message log."""
    registered = {c["id"]: c for c in await link.connectors()}
    tap = Tap(await link.broker(), list(registered))
    await tap.start()
    watch = _Watch(link, tap, registered)
    started = time.monotonic()
    try:
        while not _enough(tap, started, duration, count):
            before = len(tap.seen.ingress)
            await watch.poll()
            if progress:
                progress(len(tap.seen.ingress) - before)
        cutoff = len(tap.seen.ingress), len(tap.seen.refused_at_http)
        await _settle(watch, cutoff[0])
    finally:
        await tap.stop()
    del tap.seen.ingress[cutoff[0]:], tap.seen.refused_at_http[cutoff[1]:]  # traffic after the limit
    messages = _recorded_messages(tap, types)
    await _from_message_log(link, [m for m in messages if not m.outcome.known])
    return Fixture(messages, list(registered.values()), inventory=await link.inventory())


class _Watch:
    """The tap, following connectors registered while it runs (looked up every LOOK_SECONDS); the fixture
    keeps their latest registrations, so a replay routes as the hub did."""

    LOOK_SECONDS = 1.0

    def __init__(self, link: HubLink, tap: Tap, registered: dict[str, dict[str, Any]]) -> None:
        self.link, self.tap, self.registered = link, tap, registered
        self._next_look = time.monotonic() + self.LOOK_SECONDS

    async def poll(self) -> None:
        await self.tap.poll()
        if time.monotonic() >= self._next_look:
            self.registered.update({c["id"]: c for c in await self.link.connectors()})
            await self.tap.follow(list(self.registered))
            self._next_look = time.monotonic() + self.LOOK_SECONDS


def _enough(tap: Tap, started: float, duration: float | None, count: int | None) -> bool:
    if count is not None and len(tap.seen.ingress) + len(tap.seen.refused_at_http) >= count:
        return True
    return duration is not None and time.monotonic() - started >= duration


async def _settle(watch: _Watch, recorded: int, longest: float = 30.0) -> None:
    """Let outcomes arrive: until each of the first `recorded` ingress messages has one, or the tap is quiet
    for a few seconds, or `longest` seconds under steady traffic."""
    seen, deadline = watch.tap.seen, time.monotonic() + longest
    waiting = {(partition, offset): envelope_id(raw) for _, partition, offset, raw in seen.ingress[:recorded]}
    while waiting and time.monotonic() - seen.last_activity < 2 * SETTLE_SECONDS and time.monotonic() < deadline:
        await watch.poll()
        waiting = {where: mid for where, mid in waiting.items()
                   if where not in seen.rejected and mid not in seen.delivered}


async def _from_message_log(link: HubLink, unseen: list[FixtureMessage]) -> None:
    """Outcomes the tap missed, from the routing decisions the hub logged (needs the operator token)."""
    for message in unseen:
        logged = await link.decisions(envelope_id(message.raw))
        delivered = [d for d in logged if d.get("outcome") == "delivered"]
        if delivered:
            message.outcome = Outcome(tuple(sorted(delivered[0].get("targets") or ())))
        elif logged and (rejected := _logged_rejection(logged[0])):
            message.outcome = Outcome(rejected=rejected)


def _logged_rejection(logged: dict[str, Any]) -> dict[str, str] | None:
    """The rejection as the message log stored it: stage, the first broken rule's field and rule, reason.
    Records from before the field and rule columns name them only in the reason ("field: message [rule: name]")."""
    field, rule = logged.get("field"), logged.get("rule")
    if not (field and rule):
        found = _LEGACY_REASON.match(logged.get("reason") or "")
        if not found:
            return None
        field, rule = found["field"], found["rule"]
    return {"stage": logged.get("stage"), "field": field, "rule": rule, "reason": logged["reason"]}


_LEGACY_REASON = re.compile(r"(?P<field>[^:]+): .*?\[rule: (?P<rule>[^\]]+)\]")


def _recorded_messages(tap: Tap, types: set[str] | None) -> list[FixtureMessage]:
    seen = tap.seen
    found: list[tuple[int, FixtureMessage]] = []
    for timestamp, partition, offset, raw in seen.ingress:
        message = FixtureMessage(0, raw)
        rejection = seen.rejected.get((partition, offset))
        envelope = message.envelope or {}
        message.outcome = Outcome(rejected=rejection) if rejection else Outcome(
            tuple(sorted(seen.delivered.get(envelope.get("id"), ()))))
        found.append((timestamp, message))
    found += [(timestamp, FixtureMessage(0, raw, Outcome(rejected=rejection)))
              for timestamp, raw, rejection in seen.refused_at_http]
    found.sort(key=lambda pair: pair[0])
    if types:
        found = [(t, m) for t, m in found if (m.envelope or {}).get("type") in types]
    first = found[0][0] if found else 0
    for timestamp, message in found:
        message.at_ms = timestamp - first
    return [message for _, message in found]


# --- replay ---------------------------------------------------------------------------------------
@dataclass
class Replayed:
    message: FixtureMessage  # as recorded, with its expected outcome
    sent: bytes
    actual: Outcome

    @property
    def checked(self) -> bool:
        return self.message.outcome.known  # a recording that did not see the outcome gives nothing to check

    @property
    def matches(self) -> bool:
        return not self.checked or self.message.outcome.key() == self.actual.key()


@dataclass
class ReplayResult:
    replayed: list[Replayed]
    seconds: float

    @property
    def mismatched(self) -> list[tuple[int, Replayed]]:
        return [(i, r) for i, r in enumerate(self.replayed, start=1) if not r.matches]

    def summary(self) -> dict[str, Any]:
        return {"sent": len(self.replayed),
                "delivered": sum(1 for r in self.replayed if r.actual.delivered),
                "rejected": sum(1 for r in self.replayed if r.actual.rejected),
                "mismatched": len(self.mismatched),
                "unchecked": sum(1 for r in self.replayed if not r.checked),
                "msg_per_s": round(len(self.replayed) / self.seconds, 1) if self.seconds else None}

    def diff(self) -> str:
        """Which message, what was expected, what happened — one block per mismatch."""
        return "\n".join(f"message #{i} ({r.message.label()}, at {r.message.at_ms} ms):\n"
                         f"  expected: {r.message.outcome.describe()}\n  actual:   {r.actual.describe()}"
                         for i, r in self.mismatched)


def fresh_ids(messages: list[FixtureMessage]) -> list[bytes]:
    """New envelope ids (receivers de-duplicate by id), with correlations remapped to match."""
    renamed: dict[str, str] = {}
    out = []
    for message in messages:
        envelope = message.envelope
        if envelope is None or orjson.dumps(envelope) != message.raw or not _is_uuid(envelope.get("id")):
            out.append(message.raw)  # sent as recorded: its bytes or its bad id are what is being tested
            continue
        envelope = dict(envelope)
        renamed[envelope["id"]] = envelope["id"] = str(uuid7())
        if envelope.get("correlation_id") in renamed:
            envelope["correlation_id"] = renamed[envelope["correlation_id"]]
        out.append(orjson.dumps(envelope))
    return out


def _is_uuid(value: Any) -> bool:
    try:
        UUID(value)
    except (TypeError, ValueError, AttributeError):
        return False
    return True


async def replay(fixture: Fixture, broker: BrokerLink, register: Callable[[dict], Any], speed: float | None = None,
                 timeout: float = 60.0, progress: Progress | None = None) -> ReplayResult:
    """Send the fixture to the ingress (speed: None as fast as possible, 1.0 real time, N times faster)
    and collect each message's outcome."""
    credentials = {spec["id"]: await register(spec) for spec in fixture.connectors}
    tap = Tap(broker, [c["id"] for c in fixture.connectors], read_ingress=False)
    await tap.start()
    producer = AIOKafkaProducer(**broker.client, enable_idempotence=broker.idempotence,
                                linger_ms=2,
                                max_request_size=RECORD_BYTES_MAX)
    await producer.start()
    started = time.monotonic()
    try:
        bodies = fresh_ids(fixture.messages)
        placed = await _send(producer, broker.topics.ingress, fixture.messages, bodies, credentials, speed, progress)
        await _collect(tap, fixture.messages, bodies, placed, timeout)
    finally:
        await producer.stop()
        await tap.stop()
    seconds = time.monotonic() - started
    replayed = [Replayed(m, body, _outcome(tap, body, where))
                for m, body, where in zip(fixture.messages, bodies, placed, strict=True)]
    return ReplayResult(replayed, seconds)


def _seal(message: FixtureMessage, body: bytes, credentials: dict[str, Credential]) -> list[tuple[str, bytes]]:
    """Signed now, whenever the fixture was recorded: an old signature would be refused as stale."""
    credential = credentials.get(message.signer(list(credentials)))
    if message.signature == "none" or credential is None:
        return []
    if message.signature == "forged":
        return credential.headers(body + b" ")  # a real signature, over other bytes
    return credential.headers(body)


async def _send(producer: AIOKafkaProducer, ingress: str, messages: list[FixtureMessage], bodies: list[bytes],
                credentials: dict[str, Credential], speed: float | None,
                progress: Progress | None) -> list[tuple[int, int]]:
    start = time.monotonic()
    acks = []
    for message, body in zip(messages, bodies, strict=True):
        if speed:
            delay = message.at_ms / 1000 / speed - (time.monotonic() - start)
            if delay > 0:
                await asyncio.sleep(delay)
        key = (message.envelope or {}).get("key")
        acks.append(await producer.send(ingress, body, key=key.encode() if isinstance(key, str) else None,
                                        headers=_seal(message, body, credentials)))
        if progress:
            progress(1)
    return [(meta.partition, meta.offset) for meta in await asyncio.gather(*acks)]


def _settled(message: FixtureMessage, actual: Outcome) -> bool:
    """The expected outcome arrived (or any, for a message recorded without one)."""
    return actual.key() == message.outcome.key() if message.outcome.known else actual.known


def _outcome(tap: Tap, body: bytes, where: tuple[int, int]) -> Outcome:
    rejection = tap.seen.rejected.get(where)
    if rejection:
        return Outcome(rejected=rejection)
    return Outcome(tuple(sorted(tap.seen.delivered.get(envelope_id(body), ()))))


async def _collect(tap: Tap, messages: list[FixtureMessage], bodies: list[bytes],
                   placed: list[tuple[int, int]], timeout: float) -> None:
    """Poll until every message has its expected outcome, or outcomes stop coming (then the check shows it).
    Until the first outcome arrives the wait is the whole timeout: a router may still be joining its group."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await tap.poll()
        done = all(_settled(m, _outcome(tap, b, w)) for m, b, w in zip(messages, bodies, placed))
        outcomes_came = tap.seen.delivered or tap.seen.rejected
        if done or (outcomes_came and time.monotonic() - tap.seen.last_activity > SETTLE_SECONDS * 2):
            return
