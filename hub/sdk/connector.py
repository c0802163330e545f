"""The connector SDK: typed handlers, publish, request/reply, heartbeats, at-least-once inbox.

    dat_dai = Connector("dat-dai", name="Hệ thống đất đai", agency="000.00.01.H22")

    @dat_dai.serves("land.parcel.request", reply="land.parcel.reply")
    async def parcel(message: Message) -> None:
        await dat_dai.reply(message, "land.parcel.reply", {...})

A connector reads its inbox `<prefix>.out.<id>` in consumer group `<prefix>.connector.<id>` (the hub tells the
prefix), passes every fetch through a gap guard (hub/brokers/gaps.py), hands each new
message (duplicates dropped by id) to its handler, retries a failing handler, dead-letters a message
it gives up on, and commits only what its handlers finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from pydantic import BaseModel, ValidationError
from tenacity import AsyncRetrying, stop_after_attempt, wait_exponential

from hub.bus import metrics
from hub.bus.broker_security import BrokerLogin
from hub.bus.gaps import GapGuard, Reassigned
from hub.bus.topics import REPLY_TO_HEADER, BrokerLink
from hub.core.credentials import Credential
from hub.core.envelope import Envelope, decode, encode
from hub.core.errors import HubError
from hub.core.hub_signature import AGREEMENT_HEADER, HubKeys, HubSignatureError
from hub.core.rejection import FieldError, Rejection, dead_letter_headers
from hub.sdk.attachments import AttachmentClient
from hub.sdk.dedup import SeenIds
from hub.sdk.registrar import Registrar
from hub.sdk.settings import ClientSettings

log = logging.getLogger(__name__)
P = TypeVar("P")
_QUEUE_HIGH, _QUEUE_LOW = 2000, 200  # per-partition backlog that pauses / resumes fetching
# aiokafka holds one open batch per partition and a send to a full one waits, each on a timer, until it is
# sent: with the default 16 KiB (about 20 messages) a busy connector's sends spent a fifth of its process's
# time there (py-spy under `lgsp-hub up`).
_BATCH_BYTES = 256 << 10


def _plain(payload: dict[str, Any] | BaseModel) -> dict[str, Any]:
    return payload.model_dump(mode="json", exclude_none=True) if isinstance(payload, BaseModel) else payload


def _reply_to(record: ConsumerRecord) -> bytes | None:
    return next((value for name, value in record.headers if name == REPLY_TO_HEADER), None)


def _agreement(record: ConsumerRecord) -> str | None:
    value = next((value for name, value in record.headers if name == AGREEMENT_HEADER), None)
    return value.decode(errors="replace") if value is not None else None


class RequestTimeout(HubError, TimeoutError):
    pass


@dataclass(frozen=True, slots=True)
class Message(Generic[P]):
    """What a handler receives: the envelope, and its payload (typed when the handler declared a model)."""

    envelope: Envelope
    payload: P
    reply_to: bytes | None = None  # where the hub wants the reply (a call made over HTTP): echoed by reply()
    agreement: str | None = None  # the data-sharing agreement the hub projected the payload under, if any


Handler = Callable[[Message[Any]], Awaitable[None]]


@dataclass
class _Route:
    handler: Handler
    model: type[BaseModel] | None


@dataclass
class ConnectorCounters:
    handled: int = 0
    duplicates: int = 0
    failed: int = 0
    published: int = 0
    last_error: str | None = None
    last_handled_at: float | None = None
    started_at: float = field(default_factory=time.time)


class Connector:
    def __init__(self, id: str, *, name: str, agency: str, level: str = "province",
                 systems: list[str] | None = None, produces: list[str] | None = None,
                 expects: list[str] | None = None,
                 heartbeat_seconds: float = 5.0, handler_attempts: int = 3, remember_ids: int | None = None,
                 hub_keys: HubKeys | None = None) -> None:
        """`remember_ids`: the de-duplication window, the ids of the last messages handled (unset:
        LGSP_DEDUP_WINDOW). Read committed on Apache Kafka, the inbox holds each message once; the window
        stays as a second line, for at-least-once brokers and messages a sender published twice.
        `hub_keys` (the hub's /v1/keys): a message the hub projected under an agreement is handled only
        when the hub's signature over it verifies; without them it is handled unchecked."""
        self.id, self.name, self.agency, self.level = id, name, agency, level
        self.systems = list(systems or [])
        self.produces = list(produces or [])
        self.expects = list(expects or [])  # reply types it awaits with request()
        self.heartbeat_seconds = heartbeat_seconds
        self.handler_attempts = handler_attempts
        self.counters = ConnectorCounters()
        self.hub_keys = hub_keys
        self.paused = False  # told by the operator (control topic)
        self.reachable = True  # False simulates the system being down: no reading, no heartbeats
        self._failing = False  # the last message's handler gave up: reported as FAILED until one succeeds
        self._routes: dict[tuple[str, int], _Route] = {}
        self._services: dict[str, dict[str, str]] = {}  # request type → its service entry
        self._seen = SeenIds(ClientSettings().dedup_window if remember_ids is None else remember_ids)
        self._pending: dict[Any, asyncio.Future[Envelope]] = {}
        self._replied = SeenIds(10_000)  # correlation ids answered straight from the fetch loop
        self._done: dict[TopicPartition, int] = {}
        self._handling: set[TopicPartition] = set()  # partitions whose worker is inside a handler
        self._committed: dict[TopicPartition, int] = {}
        self._unacked: list[asyncio.Future] = []  # replies sent by handlers, not yet acknowledged
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._clients: list[Any] = []
        self._attachment_client: AttachmentClient | None = None  # one HTTP client for every file, made on first use
        self.hub_url: str | None = None  # the hub's API, once started with a registrar that knows it

    @property
    def state(self) -> str:
        return "PAUSED" if self.paused else "FAILED" if self._failing else "RUNNING"

    # declaring -------------------------------------------------------------
    def on(self, type: str, version: int = 1, model: type[BaseModel] | None = None) -> Callable[[Handler], Handler]:
        """Register the handler of one message type and version; `model` types its payload."""
        def register(handler: Handler) -> Handler:
            self._routes[(type, version)] = _Route(handler, model)
            return handler
        return register

    def serves(self, request: str, *, reply: str, version: int = 1, model: type[BaseModel] | None = None,
               description: str | None = None) -> Callable[[Handler], Handler]:
        """Register the handler of a service: callers send `request` (over Kafka or HTTP) and wait for `reply`,
        which the handler sends with `reply()`. The hub lists it in its service catalog."""
        self._services[request] = {"request": request, "reply": reply,
                                   **({"description": description} if description else {})}
        return self.on(request, version, model)

    def spec(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "agency": self.agency, "level": self.level,
                "systems": self.systems,
                "produces": sorted(set(self.produces) | {s["reply"] for s in self._services.values()}),
                "consumes": sorted({type for type, _ in self._routes} | set(self.expects)),
                "serves": list(self._services.values())}

    # lifecycle ---------------------------------------------------------------
    async def start(self, registrar: Registrar) -> None:
        """Register with the hub (idempotent), then start reading the inbox and heartbeating."""
        self._credential = await registrar.register(self.spec())
        self.hub_url = getattr(registrar, "url", None)  # for attachments, over HTTP
        await self._connect(await registrar.broker(self.id))

    async def _connect(self, link: BrokerLink) -> None:
        self._link, self._tasks, self._clients = link, [], []
        self._stopping.clear()
        self.topics = link.topics
        self._producer = AIOKafkaProducer(**link.client, enable_idempotence=link.idempotence,
                                          acks="all", linger_ms=1, max_batch_size=_BATCH_BYTES)
        self._control = AIOKafkaConsumer(self.topics.control, **link.client, group_id=None,
                                         auto_offset_reset="earliest", fetch_max_wait_ms=200)
        self._clients = [self._producer, self._control]
        loops = [self._follow_control, self._heartbeat]
        if self._routes or self.expects:  # a connector that only publishes has no inbox to read
            self._inbox = AIOKafkaConsumer(**link.client,
                                           group_id=self.topics.connector_group(self.id), enable_auto_commit=False,
                                           auto_offset_reset="earliest", fetch_max_wait_ms=50,
                                           isolation_level=link.isolation_level)
            self._gaps = GapGuard(f"connector {self.id}", self._inbox.seek, transactional=link.transactions)
            self._inbox.subscribe([self.topics.inbox(self.id)], listener=Reassigned(self._gaps))
            self._clients.append(self._inbox)
            loops.insert(0, self._read_inbox)
        for client in self._clients:
            await client.start()
        self.counters.started_at = time.time()
        for loop in loops:
            self._tasks.append(asyncio.create_task(loop(), name=f"{self.id}.{loop.__name__}"))

    async def use_broker_credential(self, credential: str) -> None:
        """Log in to the broker as a rotated credential's principal ('username:password'), before the old
        one's grace ends: the clients close and connect again, and the inbox's group is joined again."""
        login = BrokerLogin.parse(credential, self._link.login.security if self._link.login else None)
        await self.stop()
        await self._connect(self._link.as_login(login))

    async def stop(self) -> None:
        """Finish the handler in progress, commit what was handled, then close."""
        self._stopping.set()
        for task in self._tasks:
            if task.get_name().endswith("_read_inbox"):
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, timeout=30)
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        for client in reversed(self._clients):
            with contextlib.suppress(Exception):
                await client.stop()
        if self._attachment_client is not None:
            await self._attachment_client.aclose()
            self._attachment_client = None

    def use_credential(self, credential: Credential) -> None:
        """Sign from now on with a rotated credential; messages in flight keep the old one's grace. On a
        broker with ACLs, switch to its broker credential too (`use_broker_credential`)."""
        self._credential = credential

    # sending -----------------------------------------------------------------
    async def publish(self, type: str, payload: dict[str, Any] | BaseModel, *, version: int = 1,
                      target: str | None = None, key: str | None = None, **fields: Any) -> Envelope:
        """Send one message through the hub; returns once the broker acknowledged it."""
        envelope = Envelope.new(type, version, self.id, _plain(payload), target=target, key=key, **fields)
        await self.send(envelope)
        return envelope

    async def send(self, envelope: Envelope, wait: bool = True, reply_to: bytes | None = None) -> None:
        """Sign and produce to the ingress; without `wait` the ack is awaited before the next inbox commit."""
        raw = encode(envelope)
        headers = self._credential.headers(raw) + ([(REPLY_TO_HEADER, reply_to)] if reply_to is not None else [])
        ack = await self._producer.send(self.topics.ingress, raw, key=envelope.key.encode() if envelope.key else None,
                                        headers=headers)
        self.counters.published += 1
        if wait:
            await ack
        else:
            self._unacked.append(ack)

    async def reply(self, message: Message[Any], type: str, payload: dict[str, Any] | BaseModel,
                    version: int = 1) -> Envelope:
        """Answer a request: to its sender, with its correlation id."""
        envelope = message.envelope.reply(type, version, self.id, _plain(payload))
        await self.send(envelope, wait=False, reply_to=message.reply_to)  # the commit waits on the broker
        return envelope

    async def request(self, type: str, payload: dict[str, Any] | BaseModel, *, target: str,
                      timeout: float = 10.0, version: int = 1, key: str | None = None) -> Envelope:
        """Send a request and wait for the reply correlated with it."""
        envelope = Envelope.new(type, version, self.id, _plain(payload), target=target, key=key)
        future: asyncio.Future[Envelope] = asyncio.get_running_loop().create_future()
        self._pending[envelope.id] = future
        try:
            await self.send(envelope)
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise RequestTimeout(f"no reply to {type} {envelope.id} from {target!r} within {timeout}s") from None
        finally:
            self._pending.pop(envelope.id, None)

    # attachments (hub.sdk.attachments) ---------------------------------------
    async def upload(self, data: bytes, content_type: str, name: str) -> dict[str, Any]:
        """Upload a file for a message to reference by the id answered (with sha256, size, content_type, name)."""
        return await self._attachments().upload(data, content_type, name)

    async def attachment(self, id: str, sha256: str | None = None, wait: float = 60.0) -> bytes:
        """The bytes of an attachment this connector uploaded or was sent, checked against the SHA-256 the hub
        answers and, given, `sha256`; asked again for `wait` seconds while the hub has not logged the delivery
        that grants it. Raises AttachmentError."""
        return await self._attachments().fetch(id, sha256, wait)

    def _attachments(self) -> AttachmentClient:
        if self.hub_url is None:
            raise HubError(f"{self.id}: attachments need the hub's API: start the connector with a registrar "
                           "that has its URL (HttpRegistrar, or the hub's own)")
        if self._attachment_client is None:
            self._attachment_client = AttachmentClient(self.hub_url, self._credential)
        self._attachment_client.credential = self._credential  # rotated or not
        return self._attachment_client

    # receiving ---------------------------------------------------------------
    async def _read_inbox(self) -> None:
        """Fetch without waiting on handlers, so a handler may itself await a reply."""
        workers: dict[TopicPartition, asyncio.Queue[ConsumerRecord | None]] = {}
        try:
            while not self._stopping.is_set():
                self._apply_pause()
                fetched = await self._inbox.getmany(timeout_ms=100, max_records=500)
                await self._gaps.anchor(self._inbox)
                batches = self._gaps.check(fetched)
                if batches and (self.paused or not self.reachable):
                    self._put_back(batches)  # paused while fetching: these wait in the inbox too
                    continue
                for tp, records in batches.items():
                    if tp not in workers:
                        workers[tp] = asyncio.Queue()
                        self._tasks.append(asyncio.create_task(self._work(tp, workers[tp]), name=f"{self.id}.work"))
                    for record in records:
                        self._resolve_reply(record)
                        workers[tp].put_nowait(record)
                    if workers[tp].qsize() > _QUEUE_HIGH:
                        self._inbox.pause(tp)
                self._resume_drained(workers)
                await self._commit(await self._caught_up(workers))
        finally:
            for queue in workers.values():
                queue.put_nowait(None)
            await asyncio.gather(*(t for t in self._tasks if t.get_name() == f"{self.id}.work"),
                                 return_exceptions=True)
            await self._commit()

    def _put_back(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        for tp, records in batches.items():
            self._inbox.seek(tp, records[0].offset)
        self._gaps.forget(batches)
        self._apply_pause()

    def _resume_drained(self, workers: dict[TopicPartition, asyncio.Queue]) -> None:
        if self.paused or not self.reachable:
            return
        for tp in self._inbox.paused():
            if tp not in workers or workers[tp].qsize() < _QUEUE_LOW:
                self._inbox.resume(tp)

    def _apply_pause(self) -> None:
        if self.paused or not self.reachable:
            self._inbox.pause(*self._inbox.assignment())

    def _resolve_reply(self, record: ConsumerRecord) -> None:
        try:
            self._agreement(record)
        except HubSignatureError:
            return  # its worker dead-letters it
        envelope = decode(record.value)
        waiting = self._pending.get(envelope.correlation_id) if envelope.correlation_id else None
        if waiting is not None and not waiting.done():
            waiting.set_result(envelope)
            self._replied.add(envelope.correlation_id)

    async def _work(self, tp: TopicPartition, queue: asyncio.Queue[ConsumerRecord | None]) -> None:
        """One partition in order: one dossier's events are handled in the order they were sent."""
        while not self._stopping.is_set() and (record := await queue.get()) is not None:
            self._handling.add(tp)
            try:
                await self._dispatch(record)
            finally:
                self._handling.discard(tp)
            self._done[tp] = record.offset + 1

    async def _caught_up(self, workers: dict[TopicPartition, asyncio.Queue]) -> dict[TopicPartition, int]:
        """Partitions whose every fetched record is handled, at their position: on an inbox written in
        transactions that is past the commit marker after the last record, so the lag drains to 0."""
        caught_up = {}
        for tp, queue in workers.items():
            if queue.empty() and tp not in self._handling and tp in self._inbox.assignment():
                position = await self._inbox.position(tp)
                if position > max(self._committed.get(tp, 0), self._done.get(tp, 0)):
                    caught_up[tp] = position
        return caught_up

    async def _commit(self, caught_up: dict[TopicPartition, int] | None = None) -> None:
        """Commit handled records once every reply their handlers sent is acknowledged."""
        offsets, self._done = {**self._done, **(caught_up or {})}, {}
        acks, self._unacked = self._unacked, []
        await asyncio.gather(*acks)
        if offsets:
            with contextlib.suppress(Exception):  # after a rebalance the new owner re-reads; we de-duplicate
                await self._inbox.commit(offsets)
                self._committed.update(offsets)

    def _agreement(self, record: ConsumerRecord) -> str | None:
        """The agreement the hub projected a record under, its signature checked when the hub's keys were
        given; raises HubSignatureError when it does not hold."""
        if self.hub_keys is None:
            return _agreement(record)
        return self.hub_keys.verify(record.value, record.headers)

    async def _dispatch(self, record: ConsumerRecord) -> None:
        try:
            agreement = self._agreement(record)
        except HubSignatureError as exc:
            return await self._give_up(record, str(exc), "hubSignature")
        envelope = decode(record.value)  # the router already validated it
        if not self._seen.add(envelope.id):
            self.counters.duplicates += 1
            return
        if envelope.correlation_id in self._replied:
            return  # a reply already handed to request() by the fetch loop
        route = self._routes.get((envelope.type, envelope.version))
        if route is None and envelope.correlation_id is not None:
            return await self._give_up(record, f"late reply {envelope.type}: its request already timed out")
        if route is None:
            return await self._give_up(record, f"no handler for {envelope.type} v{envelope.version}")
        try:
            payload = route.model.model_validate(envelope.payload) if route.model else envelope.payload
        except ValidationError as exc:
            return await self._give_up(record, f"payload does not fit {route.model.__name__}: {exc}")
        metrics.DELIVERY_LATENCY.labels(self.id).observe(max(time.time() - record.timestamp / 1000, 0.0))
        try:
            await self._call(route.handler, Message(envelope, payload, _reply_to(record), agreement))
        except Exception as exc:
            log.warning("%s: handler of %s failed %d times: %s", self.id, envelope.type, self.handler_attempts, exc)
            self._failing = True
            return await self._give_up(record, f"handler failed {self.handler_attempts} times: {exc!r}")
        self.counters.handled += 1
        self.counters.last_handled_at = time.time()
        metrics.HANDLED.labels(self.id, "handled").inc()
        self._failing = False

    async def _call(self, handler: Handler, message: Message[Any]) -> None:
        try:
            return await handler(message)  # the common case, without the retry machinery
        except Exception:
            if self.handler_attempts <= 1:
                raise
        async for attempt in AsyncRetrying(stop=stop_after_attempt(self.handler_attempts - 1), reraise=True,
                                           wait=wait_exponential(multiplier=0.05, max=1.0)):
            with attempt:
                await handler(message)

    async def _give_up(self, record: ConsumerRecord, reason: str, rule: str = "handled") -> None:
        """Nothing is dropped: a message the connector cannot handle goes to the DLQ with why."""
        self.counters.failed += 1
        self.counters.last_error = reason
        metrics.HANDLED.labels(self.id, "dead_lettered").inc()
        rejection = Rejection("handler", f"{self.id}: {reason}", (FieldError("connector", rule, reason),))
        headers = dead_letter_headers(rejection, record.topic, record.partition, record.offset)
        await self._producer.send_and_wait(self.topics.dlq, record.value, key=record.key, headers=headers)

    async def _follow_control(self) -> None:
        while True:
            batches = await self._control.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    if record.key == self.id.encode():
                        self.paused = bool(orjson.loads(record.value)["paused"])

    async def _heartbeat(self) -> None:
        while True:
            c = self.counters
            beat = orjson.dumps({"connector": self.id, "at": time.time(), "state": self.state,
                                 "handled": c.handled, "duplicates": c.duplicates, "failed": c.failed,
                                 "published": c.published, "last_error": c.last_error})
            with contextlib.suppress(Exception):
                if self.reachable:  # signed: the hub believes only heartbeats from the connector itself
                    await self._producer.send_and_wait(self.topics.heartbeats, beat, key=self.id.encode(),
                                                       headers=self._credential.headers(beat))
            await asyncio.sleep(self.heartbeat_seconds)
