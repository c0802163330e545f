"""Synchronous service calls through the hub: a request routed to its provider, answered with its reply.

The caller signs its request envelope as on POST /v1/messages. The hub checks it as the router will, and
checks the call itself (the provider serves the type, the caller may receive the reply, the provider is
available). It then sends the request to the ingress, marked with this process's replies partition, and
waits for the reply correlated with it (hub.bus.replies). A refusal is kept like every other: on the DLQ
and in the message log; a request accepted once is refused again (409, rule `notReplayed`). Each call's end
(answered, timed out, or a reply come too late) goes to the message log too, with its latency; the figures
of each call are kept after X-Road's operational monitoring.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from aiokafka import ConsumerRecord
from prometheus_client import Counter, Histogram

from hub.audit import decisions
from hub.bus.replies import Expected, ReplyBox
from hub.bus.topics import REPLY_TO_HEADER
from hub.core.agreements import Withheld
from hub.core.credentials import (
    CREDENTIAL_HEADER,
    HTTP_CREDENTIAL_HEADER,
    HTTP_SIGNATURE_HEADER,
    HTTP_SIGNED_AT_HEADER,
    SIGNATURE_HEADER,
    SIGNED_AT_HEADER,
    SIGNED_PAYLOAD_HEADER,
    seal_headers,
)
from hub.core.envelope import Envelope, encode
from hub.core.errors import HubError
from hub.core.hub_signature import HTTP_PROJECTION_HEADERS
from hub.core.rejection import FieldError, Rejection
from hub.core.routing import Seal, authenticate, route

CALLS = Counter("lgsp_service_calls", "Synchronous calls through the hub's HTTP edge, by outcome: answered, "
                "refused (with the HTTP status) or timed_out.", ["provider", "service", "outcome"])
CALL_SECONDS = Histogram("lgsp_service_call_seconds", "From a call's request received to its reply answered.",
                         ["provider", "service"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0))
_SIZES = (256, 1024, 4096, 16384, 65536, 262144, 1048576)
REQUEST_BYTES = Histogram("lgsp_service_request_bytes", "Size of a call's request.", ["provider", "service"],
                          buckets=_SIZES)
RESPONSE_BYTES = Histogram("lgsp_service_response_bytes", "Size of a call's reply.", ["provider", "service"],
                           buckets=_SIZES)

log = logging.getLogger(__name__)
KEPT_CALLS = 1000  # the last calls' records, per process
KEPT_LATENCIES = 1000  # per service, for its p50 and p99
_UNAVAILABLE = ("PAUSED", "UNREACHABLE")
_STATUS = {"auth": 403, "decode": 400, "envelope": 422, "schema": 422, "routing": 422}
_CONFLICT = ("notReplayed",)  # 409: the request was accepted before
_FORBIDDEN = ("mayPublish",)  # a grant the caller lacks: 403, where the router's other routing rules are 422


class Refused(HubError):
    """The call was refused before its request was sent: the HTTP status, and why (field and rule)."""

    def __init__(self, status: int, rejection: Rejection, proven: bool | None = None) -> None:
        super().__init__(rejection.reason)
        self.status, self.rejection = status, rejection
        self.proven = proven  # refused before the signature was checked: whether it verifies


class TimedOut(HubError, TimeoutError):
    pass


@dataclass(frozen=True)
class Answer:
    raw: bytes  # the reply envelope, as its provider signed it
    seal: dict[str, str]  # the provider's credential id and signature, for the caller to check
    seconds: float


@dataclass(frozen=True)
class Request:
    """A call's request as it goes to the ingress: its envelope (None until checked), bytes and seal."""

    envelope: Envelope | None
    raw: bytes
    headers: list[tuple[str, bytes]]
    signed_payload: bytes | None = None  # the payload as the caller signed it, when the hub made the envelope
    reply: str = ""  # the service's reply type


@dataclass
class CallRecord:
    """One call, in the fields of X-Road's operational monitoring (unix seconds, bytes)."""

    message_id: str | None
    client: str | None
    provider: str
    service: str
    request_in_at: float
    request_out_at: float | None = None
    response_in_at: float | None = None
    response_out_at: float | None = None
    request_bytes: int = 0
    response_bytes: int | None = None
    succeeded: bool = False
    status: int = 0
    fault_code: str | None = None  # the rule broken, or "timeout"
    fault_reason: str | None = None


@dataclass
class ServiceStats:
    calls: int = 0
    failures: int = 0
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=KEPT_LATENCIES))

    def view(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)

        def ms(q: float) -> float | None:  # the nearest-rank quantile of the calls kept
            return round(ordered[min(int(q * len(ordered)), len(ordered) - 1)] * 1000, 1) if ordered else None

        return {"calls": self.calls, "failures": self.failures, "p50_ms": ms(0.5), "p99_ms": ms(0.99)}


class ServiceCalls:
    def __init__(self, hub: Any) -> None:
        self._hub = hub
        self.replies = ReplyBox(hub.link, hub.admin, self._late, hub.settings.replies_partition)
        self.records: deque[CallRecord] = deque(maxlen=KEPT_CALLS)
        self.stats: dict[tuple[str, str], ServiceStats] = {}
        self._logging: set[asyncio.Task] = set()

    async def start(self) -> None:
        await self.replies.start()

    async def stop(self) -> None:
        await self.replies.stop()
        if self._logging:
            await asyncio.wait(self._logging, timeout=2)

    async def call(self, provider: str, service: str, body: bytes, seal: Seal, timeout: float,
                   version: int | None = None, address: str | None = None) -> Answer:
        """Route the request to `provider`, wait up to `timeout` seconds for its reply. Raises Refused, TimedOut.
        `body`: the request envelope, or only its payload (`version`: its schema's, by default the latest);
        `address`: the caller's, which limits how many of its unauthenticated refusals are kept in full."""
        record = CallRecord(None, None, provider, service, time.time(), request_bytes=len(body))
        try:
            request = await self._checked(provider, service, body, seal, version)
        except Refused as refused:
            await self._hub.keep_refused(body, refused.rejection, address, refused.proven)
            self._end(record, refused.status, refused.rejection.errors[0])
            raise
        envelope = request.envelope
        record.message_id, record.client = str(envelope.id), envelope.source
        reply = self.replies.expect(str(envelope.id), Expected(provider, request.reply, envelope.source))
        try:
            try:
                await self._hub.ingest(request.raw, envelope.key, [*request.headers, (
                    REPLY_TO_HEADER, str(self.replies.partition).encode())])
            except BaseException:  # not accepted: the caller's retry is no replay
                self._hub.replays.forget(envelope, seal[1] if request.signed_payload is not None else None)
                raise
            record.request_out_at = time.time()
            answer = await asyncio.wait_for(reply, timeout)
        except asyncio.TimeoutError:
            self._log(request, "timed_out", f"no reply from {provider!r} within {timeout:g} s", record)
            self._end(record, 504, FieldError("path.provider", "timeout", f"no reply within {timeout:g} s"))
            raise TimedOut(f"{provider!r} did not answer {service} within {timeout:g} s") from None
        finally:
            self.replies.give_up(str(envelope.id))
        return self._answered(request, answer, record)

    async def _checked(self, provider: str, service: str, body: bytes, seal: Seal, version: int | None) -> Request:
        """The request as it goes to the ingress, once it passed the router's checks and the call's own."""
        catalog = self._hub.catalog
        spec = catalog.directory.connectors.get(provider)
        if spec is None:
            raise self._unchecked(_refusal(404, "path.provider", "registeredProvider",
                                           f"{provider!r} is not a registered connector"), body, seal)
        offered = spec.service(service)
        if offered is None:
            served = ", ".join(s.request for s in spec.serves) or "none"
            raise self._unchecked(_refusal(404, "path.type", "servedType",
                                           f"{provider!r} serves no {service} (it serves: {served})"), body, seal)
        request = self._request(provider, service, body, seal, version)
        now, max_age = time.time(), self._hub.settings.signature_max_age_seconds
        outcome = route(request.raw, catalog.schemas, catalog.directory, self._hub.settings.max_message_bytes,
                        catalog.keyring, seal, now, request.signed_payload, max_age)
        envelope = outcome.envelope
        if envelope is not None:  # the address first: routing it elsewhere would refuse it for another reason
            _addressed(envelope, provider, service)
        if isinstance(outcome, Rejection):
            raise Refused(_status(outcome), outcome)
        if offered.reply not in catalog.directory.connectors[envelope.source].consumes:
            raise _refusal(403, "envelope.source", "mayReceiveReply", f"{envelope.source!r} is not registered to "
                           f"receive {offered.reply}, the reply of {service}", envelope)
        withheld = catalog.directory.agreements.terms(provider, envelope.source, offered.reply, now)
        if isinstance(withheld, Withheld):  # the provider would answer for nothing: its reply would be withheld
            raise _refusal(403, "envelope.source", "agreement", withheld.reason, envelope)
        state = await self._state(provider)
        if state in _UNAVAILABLE:
            raise _refusal(503, "path.provider", "providerAvailable", f"{provider!r} is {state}: it cannot answer "
                           "now", envelope)
        # Last: a call refused for another reason may be sent again once that reason is gone.
        screened = self._hub.unreplayed(outcome, seal, now, wrapped=request.signed_payload is not None)
        if isinstance(screened, Rejection):
            raise Refused(_status(screened), screened)
        return Request(envelope, request.raw, request.headers, request.signed_payload, offered.reply)

    def _unchecked(self, refused: Refused, body: bytes, seal: Seal) -> Refused:
        """A refusal decided before the signature: whether it verifies (over the body, envelope or payload)
        says whether it is kept in full, however many come from the caller's address."""
        signer = authenticate(body, self._hub.settings.max_message_bytes, self._hub.catalog.keyring, seal, time.time(),
                              max_age=self._hub.settings.signature_max_age_seconds)
        refused.proven = not isinstance(signer, Rejection)
        return refused

    def _request(self, provider: str, service: str, body: bytes, seal: Seal, version: int | None) -> Request:
        """An envelope as sent; a payload in the envelope the hub makes for it, from the caller who signed it."""
        if _is_envelope(body):
            return Request(None, body, seal_headers(*seal))
        catalog = self._hub.catalog
        signer = authenticate(body, self._hub.settings.max_message_bytes, catalog.keyring, seal, time.time(),
                              max_age=self._hub.settings.signature_max_age_seconds)
        if isinstance(signer, Rejection):
            raise Refused(403, signer)
        if signer is None:
            raise _refusal(422, "body", "isEnvelope", "signatures are off (LGSP_REQUIRE_SIGNATURES=false): no signer "
                           "names the caller, so the body must be the request envelope")
        if version is None:
            version = max(catalog.schemas.versions(service))
        envelope = Envelope.new(service, version, signer, orjson.loads(body), target=provider)
        return Request(envelope, encode(envelope), [*seal_headers(*seal), (SIGNED_PAYLOAD_HEADER, body)], body)

    async def _state(self, provider: str) -> str:
        paused = provider in await asyncio.to_thread(self._hub.store.paused_connectors)
        return self._hub.status.state(provider, paused)

    def _answered(self, request: Request, reply: ConsumerRecord, record: CallRecord) -> Answer:
        record.response_in_at = reply.timestamp / 1000  # the reply record's time: when its provider sent it
        record.response_bytes = len(reply.value)
        seconds = time.time() - record.request_in_at
        self._log(request, "answered", f"answered by {record.provider!r} in {seconds * 1000:.0f} ms", record)
        self._end(record, 200)
        headers = dict(reply.headers)
        seal = {HTTP_CREDENTIAL_HEADER: headers.get(CREDENTIAL_HEADER, b"").decode(),
                HTTP_SIGNATURE_HEADER: headers.get(SIGNATURE_HEADER, b"").decode(),
                HTTP_SIGNED_AT_HEADER: headers.get(SIGNED_AT_HEADER, b"").decode()}
        seal.update({http: headers[name].decode() for name, http in HTTP_PROJECTION_HEADERS.items() if name in headers})
        return Answer(reply.value, seal, seconds)

    def _end(self, record: CallRecord, status: int, broken: FieldError | None = None) -> None:
        record.response_out_at, record.status, record.succeeded = time.time(), status, status == 200
        if broken is not None:
            record.fault_code, record.fault_reason = broken.rule, broken.message
        self.records.append(record)
        if record.provider in self._hub.catalog.directory.connectors and status != 404:
            self._count(record)  # not a service that does not exist: its labels would grow without bound

    def _count(self, record: CallRecord) -> None:
        labels = (record.provider, record.service)
        stats = self.stats.setdefault(labels, ServiceStats())
        stats.calls += 1
        status = record.status
        outcome = "answered" if record.succeeded else "timed_out" if status == 504 else f"refused_{status}"
        CALLS.labels(*labels, outcome).inc()
        REQUEST_BYTES.labels(*labels).observe(record.request_bytes)
        if record.succeeded:
            seconds = record.response_out_at - record.request_in_at
            stats.latencies.append(seconds)
            CALL_SECONDS.labels(*labels).observe(seconds)
            RESPONSE_BYTES.labels(*labels).observe(record.response_bytes or 0)
        else:
            stats.failures += 1

    def _log(self, request: Request, outcome: str, reason: str, record: CallRecord) -> None:
        """The call's end in the message log, on the request's id: received at the edge, ended now."""
        envelope, raw = request.envelope, request.raw
        self._publish(decisions.Decision(str(envelope.id), envelope.type, envelope.version, envelope.source,
                               (record.provider,), outcome, None, reason, None, envelope.key, None, time.time(),
                               received_at=record.request_in_at, raw=raw))

    def _late(self, reply: ConsumerRecord, timed_out_at: float) -> None:
        """A reply whose call had already timed out: logged on the reply's id, and dropped."""
        envelope = Envelope.model_validate_json(reply.value)
        reason = f"came {time.time() - timed_out_at:.1f} s after its call timed out: dropped"
        self._publish(decisions.Decision(str(envelope.id), envelope.type, envelope.version, envelope.source,
                               (envelope.target,) if envelope.target else (), "late", None, reason,
                               str(envelope.correlation_id), envelope.key, None, time.time(),
                               received_at=reply.timestamp / 1000, raw=reply.value))

    def _publish(self, decision: decisions.Decision) -> None:
        key, value, headers = decisions.encode(decision, decisions.worker_id().encode())
        task = asyncio.ensure_future(self._hub.producer.send_and_wait(self._hub.topics.decisions, value, key=key,
                                                                      headers=headers))
        self._logging.add(task)
        task.add_done_callback(self._logged)

    def _logged(self, task: asyncio.Task) -> None:
        self._logging.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("a call's end was not logged: %s", task.exception())

    def services(self) -> list[dict[str, Any]]:
        """Every service of the directory, with this process's figures of its calls."""
        found = []
        for spec in self._hub.catalog.directory.connectors.values():
            for offered in spec.serves:
                stats = self.stats.get((spec.id, offered.request), ServiceStats())
                found.append({"provider": spec.id, "provider_name": spec.name, "agency": spec.agency,
                              "request": offered.request, "reply": offered.reply, "description": offered.description,
                              **stats.view()})
        return found

    def recent(self, limit: int) -> list[dict[str, Any]]:
        return [asdict(record) for record in list(self.records)[-limit:]][::-1]


def _status(rejection: Rejection) -> int:
    rule = rejection.errors[0].rule
    if rule in _CONFLICT:
        return 409
    return 403 if rejection.stage == "routing" and rule in _FORBIDDEN else _STATUS[rejection.stage]


def _addressed(envelope: Envelope, provider: str, service: str) -> None:
    """A call's envelope is addressed as its URL is: the service's type, to its provider."""
    if envelope.type != service:
        raise _refusal(422, "envelope.type", "isService", f"the request is a {envelope.type}, not the {service} "
                       "of the address", envelope)
    if envelope.target != provider:
        raise _refusal(422, "envelope.target", "isProvider", f"a call to {provider!r} must have it as target, not "
                       f"{envelope.target!r}", envelope)
    if envelope.correlation_id is not None:  # else its reply would name another exchange, or another's call
        raise _refusal(422, "envelope.correlation_id", "startsExchange", "a call's request starts an exchange of its "
                       "own, its reply correlated by the request's id: leave correlation_id out", envelope)


def _is_envelope(body: bytes) -> bool:
    """A body with `type` and `payload` is the request envelope; any other JSON object is only its payload."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return True  # routed as an envelope, it is refused with the decode stage's reason
    return not isinstance(data, dict) or ("type" in data and "payload" in data)


def _refusal(status: int, field: str, rule: str, message: str, envelope: Envelope | None = None) -> Refused:
    return Refused(status, Rejection.of("routing", [FieldError(field, rule, message)], envelope))
