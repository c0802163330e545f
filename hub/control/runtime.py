"""The hub process: broker (its own or a cluster's), store, catalog, router, log indexer, HTTP ingress.

It runs with or without a simulated province: whatever runs beside it (guests, such as the province's
connectors) is handed in, with the clock the operator's view samples on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Protocol

from aiokafka import AIOKafkaProducer

from hub.audit.content import subject_hash
from hub.audit.decisions import record as decision_record
from hub.audit.decisions import worker_id
from hub.audit.message_log import pepper
from hub.bus import metrics
from hub.bus.admin import TopicAdmin, wait_for_broker
from hub.bus.broker_security import BrokerLogin
from hub.bus.brokers import NAMES, BrokerInfo, local_broker
from hub.bus.brokers.process import rss_bytes
from hub.bus.catalog import Catalog
from hub.bus.dead_letters import DeadLetterTail
from hub.bus.log_indexer import LogIndexer
from hub.bus.router import Router
from hub.bus.status import StatusBoard
from hub.bus.topics import RECORD_BYTES_MAX, BrokerLink
from hub.control.broker_access import BrokerAccess
from hub.control.refusals import Refusals
from hub.control.registration import LocalRegistrar, announce
from hub.control.router_workers import RouterWorkers
from hub.control.service_calls import ServiceCalls
from hub.core.clock import Clock, WallClock
from hub.core.inventory import Inventory, load_inventory
from hub.core.rejection import Rejection, dead_letter_headers
from hub.core.replays import ReplayWindow
from hub.core.routing import Delivery, Seal
from hub.core.schemas.registry import SchemaRegistry, bundled_schemas_dir
from hub.operator.observer import Observer
from hub.settings import Settings
from hub.store import Store
from hub.store.attachments import open_attachments

log = logging.getLogger(__name__)
STOP_CLIENTS_SECONDS = 5.0  # shutdown stays bounded when the broker is gone: clients get this long in all,
STOP_BROKER_SECONDS = 5.0  # and the hub's own broker this long for a controlled shutdown before SIGKILL


class Guest(Protocol):
    """Something that runs beside the hub in its process, with connectors registered in-process."""

    async def start(self, registrar: LocalRegistrar) -> None: ...

    async def stop(self) -> None: ...


class Hub:
    def __init__(self, settings: Settings, with_router: bool = True, inventory: Inventory | None = None,
                 clock: Clock | None = None, guests: Sequence[Guest] = ()) -> None:
        self.settings = settings
        self.with_router = with_router
        self.topics = settings.topics
        self.broker = local_broker(settings)  # None on an existing cluster
        self.router: Router | None = None  # routing in this process (LGSP_ROUTER_PROCESSES=0)
        self.router_workers: RouterWorkers | None = None  # else in processes of their own
        self.log_indexer: LogIndexer | None = None
        self.inventory = inventory  # given, else LGSP_INVENTORY, else the stored one (None: not loaded yet)
        self.clock = clock or WallClock()
        self.guests = list(guests)
        self.refusals = Refusals(settings.refusals_per_minute, settings.refusals_burst, settings.refusals_addresses)
        self._tasks: list[asyncio.Task] = []
        self.left_behind: list[asyncio.Task] = []  # closes that ran out of time in stop()
        # What this process accepted at its HTTP edge: an obvious replay is refused at once.
        self.replays = ReplayWindow(settings.signature_max_age_seconds, settings.replay_window_max_entries)
        self._evicted = 0

    @property
    def bootstrap_servers(self) -> str:
        return self.settings.kafka_bootstrap_servers or self.broker.bootstrap_servers

    @property
    def api_url(self) -> str:
        """Where this process's API answers (LGSP_HOST, LGSP_PORT), as its own in-process connectors reach it."""
        host = self.settings.host
        host = "127.0.0.1" if host in ("", "0.0.0.0") else "::1" if host == "::" else host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.settings.port}"

    @property
    def login(self) -> BrokerLogin | None:
        """The hub's own principal: the admin of its own Apache Kafka, or KAFKA_SASL_* on a cluster."""
        if self.broker is None:
            return self.settings.broker_login
        return getattr(self.broker, "admin_login", None)  # tansu takes anyone

    @property
    def link(self) -> BrokerLink:
        return BrokerLink(self.bootstrap_servers, self.topics, self.settings.idempotence, self.settings.transactions,
                          self.login)

    @property
    def broker_info(self) -> BrokerInfo:
        access = getattr(self, "access", None)
        return BrokerInfo(self.settings.broker, getattr(self.broker, "version", None), self.bootstrap_servers,
                          self.broker is not None, self.settings.idempotence, self.link.delivery,
                          bool(access and access.enabled), self.login.security if self.login else None)

    async def start(self) -> None:
        """Broker, then the control plane's state, then routing beside the guests, then the observer."""
        if self.broker is not None:
            # Started from the main thread: the kernel ties the broker's death signal to this thread.
            self.broker.start()
            log.info("%s on %s", NAMES[self.broker.kind], self.broker.bootstrap_servers)
        await wait_for_broker(self.link)
        await self._start_control_plane()
        await self._start_log_indexer()
        # Consumer-group joins take seconds on tansu: the router's and the connectors' run side by side.
        await asyncio.gather(self._start_router(), *(guest.start(LocalRegistrar(self)) for guest in self.guests))
        self.observer = Observer(self, self.clock)
        await self.observer.start(LocalRegistrar(self))

    async def _start_router(self) -> None:
        if self.with_router and self.settings.router_processes:
            self.router_workers = RouterWorkers(self.settings, self.access.role("router"))
            self.router_workers.start()
            self._tasks.append(asyncio.create_task(self.router_workers.watch(), name="router-workers"))
        elif self.with_router:
            self.router = Router(self.access.role("router"), self.catalog, self.settings)
            await self.router.start()
            self._tasks.append(asyncio.create_task(self.router.run(), name="router"))

    async def _start_log_indexer(self) -> None:
        if self.settings.log_indexer:
            self.log_indexer = LogIndexer(self.access.role("log-indexer"), self.store, self.settings)
            await self.log_indexer.start()
            self._tasks.append(asyncio.create_task(self.log_indexer.run(), name="log-indexer"))

    async def _start_control_plane(self) -> None:
        self.store = Store(self.settings.database_url)
        self.attachments = open_attachments(self.store.engine, self.settings.attachments_dir)
        await asyncio.to_thread(self._load_inventory)
        self._pepper = await asyncio.to_thread(pepper, self.store)  # the log's subjects are searched here
        roots = [bundled_schemas_dir(), *([self.settings.schemas_dir] if self.settings.schemas_dir else [])]
        self.catalog = Catalog(self.store, SchemaRegistry.from_dirs(*roots), self.settings.require_signatures)
        self.catalog.reload()
        self.admin = TopicAdmin(self.link, self.settings)
        await self.admin.start()
        await self.admin.ensure([*self.topics.hub_topics, *map(self.topics.inbox, self.catalog.directory.connectors)])
        self.access = BrokerAccess(self.link)
        await self.access.start()
        self._tasks.append(asyncio.create_task(self._retire_expired_logins(), name="expired-logins"))
        self.producer = AIOKafkaProducer(**self.link.client, acks="all",
                                         enable_idempotence=self.settings.idempotence, linger_ms=1,
                                         max_request_size=RECORD_BYTES_MAX)
        await self.producer.start()
        await self._announce_desired_states()
        self.dead_letters = DeadLetterTail(self.link, self.settings.dlq_buffer)
        await self.dead_letters.start()
        self.status = StatusBoard(self.link, self.settings.heartbeat_timeout_seconds, lambda: self.catalog.keyring)
        await self.status.start()
        self._tasks.append(asyncio.create_task(self.catalog.refresh_forever(self.settings.refresh_seconds)))
        self.services = ServiceCalls(self)
        await self.services.start()

    async def _retire_expired_logins(self) -> None:
        """A rotated-out credential's broker principal goes when its signing credential expires."""
        while self.access.enabled:
            try:
                await self.access.remove(await asyncio.to_thread(self.store.expired_credential_ids))
            except Exception as exc:  # the broker may be restarting: tried again at the next round
                log.warning("removing expired broker principals failed: %s", exc)
            await asyncio.sleep(self.settings.refresh_seconds)

    def _load_inventory(self) -> None:
        if self.inventory is None and self.settings.inventory is not None:
            self.inventory = load_inventory(self.settings.inventory)
        if self.inventory is not None:
            self.inventory = self.inventory.only()
            self.store.put_inventory(self.inventory.model_dump(mode="json"))
        else:
            stored = self.store.inventory()
            self.inventory = Inventory.model_validate(stored) if stored else None

    async def use_inventory(self, inventory: Inventory) -> None:
        """The operator loaded another inventory: stored, then counted from the next refresh."""
        await asyncio.to_thread(self.store.put_inventory, inventory.model_dump(mode="json"))
        self.inventory = inventory
        self.observer.use(inventory)

    async def _announce_desired_states(self) -> None:
        """The control topic is the connectors' source of truth; rebuild it from the store."""
        paused = await asyncio.to_thread(self.store.paused_connectors)
        for connector_id in self.catalog.directory.connectors:
            await announce(self, connector_id, connector_id in paused)

    async def stop(self) -> None:
        """Clients first, within STOP_CLIENTS_SECONDS in all (a broker that died first cannot keep them
        waiting), then the store, then the hub's own broker."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_CLIENTS_SECONDS
        for closing in self._closings():
            # Not wait_for: it waits for the cancelled close to finish, and a Kafka client retrying a broker
            # that is gone may never finish. A close out of time is left behind, cancelled.
            task = asyncio.ensure_future(closing)
            done, _ = await asyncio.wait({task}, timeout=max(deadline - loop.time(), 0.05))
            if not done:
                task.cancel()
                self.left_behind.append(task)
                log.warning("shutdown: %s did not finish in time, left behind", closing.__qualname__)
            elif not task.cancelled() and task.exception() is not None:
                log.warning("shutdown: %s failed: %s", closing.__qualname__, task.exception())
        self.store.close()
        if self.broker is not None:
            await asyncio.to_thread(self.broker.stop, STOP_BROKER_SECONDS)

    def _closings(self):
        if hasattr(self, "observer"):
            yield self.observer.stop()
        for guest in reversed(self.guests):
            yield guest.stop()
        if self.router:
            yield self.router.stop()
        if self.router_workers:
            yield self.router_workers.stop(STOP_CLIENTS_SECONDS - 1)
        if self.log_indexer:  # after the router: it indexes what the router decided until then
            yield self.log_indexer.stop()
        for task in reversed(self._tasks):
            if task.get_name() not in _WORKERS:
                task.cancel()
            yield _settled(task)
        for part in ("services", "status", "dead_letters", "access"):
            if hasattr(self, part):
                yield getattr(self, part).stop()
        if hasattr(self, "producer"):
            yield self.producer.stop()
            yield self.admin.close()

    async def broker_reachable(self) -> bool:
        try:
            await asyncio.wait_for(self.admin.list(), timeout=3)
            return True
        except Exception:
            return False

    def router_running(self) -> bool:
        if self.router_workers:
            return self.router_workers.running
        task = next((t for t in self._tasks if t.get_name() == "router"), None)
        return bool(self.router and self.router.running and task and not task.done())

    def log_indexer_view(self) -> dict:
        """The log indexer as the operator sees it: running here or not, and how far behind the topic."""
        task = next((t for t in self._tasks if t.get_name() == "log-indexer"), None)
        indexer = self.log_indexer
        running = bool(indexer and indexer.running and task and not task.done())
        return {"running": running, "lag": indexer.lag if running else None}

    def subject(self, personal_id: str) -> str:
        """The keyed hash under which the message log finds the messages that carried this personal ID."""
        return subject_hash(self._pepper, personal_id)

    def broker_memory_exhausted(self) -> bool:
        """The hub's own tansu never frees consumed messages; refuse ingress above the configured ceiling."""
        if self.settings.broker != "tansu" or self.broker is None or self.broker.pid is None:
            return False
        return rss_bytes(self.broker.pid) > self.settings.tansu_max_rss_mb << 20

    def unreplayed(self, outcome: Delivery | Rejection, seal: Seal, now: float,
                   wrapped: bool = False) -> Delivery | Rejection:
        """The HTTP edge's replay check, over what this process accepted; the router's stays the authority.
        `wrapped`: the hub made the envelope around a signed payload (its id is new: the signature names it)."""
        if self.catalog.keyring is None:
            return outcome
        outcome = self.replays.screen(outcome, seal[2], now, signature=seal[1] if wrapped else None)
        if self.replays.evicted > self._evicted:
            metrics.REPLAY_EVICTED.labels("http").inc(self.replays.evicted - self._evicted)
            self._evicted = self.replays.evicted
        return outcome

    async def ingest(self, raw: bytes, key: str | None, headers: list[tuple[str, bytes]] | None = None) -> None:
        """Put a message on the ingress topic and wait for the broker's acknowledgement."""
        await self.producer.send_and_wait(self.topics.ingress, raw, key=key.encode() if key else None, headers=headers)

    async def keep_refused(self, raw: bytes, rejection: Rejection, address: str | None = None,
                           proven: bool | None = None) -> None:
        """A message refused at the HTTP edge is kept like the router's: in the message log and on the DLQ;
        unless it came unauthenticated from an address past its limit (hub.control.refusals): then counted."""
        if not self.refusals.keep(address, rejection, time.time(), proven):
            return
        await self.decided(raw, rejection)
        await self.dead_letter(raw, rejection)

    async def dead_letter(self, raw: bytes, rejection: Rejection) -> None:
        """Keep a message refused at the HTTP edge on the DLQ, like the router does."""
        await self.producer.send_and_wait(self.topics.dlq, raw, headers=dead_letter_headers(rejection, "http", -1, -1))

    async def decided(self, raw: bytes, rejection: Rejection) -> None:
        """Publish a refusal at the HTTP edge on the decisions topic, whence the log indexer stores it."""
        key, value, headers = decision_record(raw, rejection, time.time(), worker=worker_id().encode())
        await self.producer.send_and_wait(self.topics.decisions, value, key=key, headers=headers)


_WORKERS = ("router", "log-indexer")  # tasks that end on stop(), finishing the batch in hand


async def _settled(task: asyncio.Task) -> None:
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
