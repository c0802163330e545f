"""The hub process: broker (embedded or external), store, catalog, router, HTTP ingress."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from aiokafka import AIOKafkaProducer

from connectors.province import Province
from hub.broker import (CONTROL_TOPIC, DLQ_TOPIC, HEARTBEAT_TOPIC, INGRESS_TOPIC, EmbeddedBroker, TopicAdmin,
                        rss_bytes, wait_for_broker)
from hub.audit import MessageLog, worker_id
from hub.catalog import Catalog
from hub.clock import VN_TZ, SimClock
from hub.directory import inbox_topic
from hub.dlq import DeadLetterTail, dead_letter_headers
from hub.observer import Observer
from hub.registry import announce
from hub.router import Router
from hub.routing import Rejection
from hub.scenario import load_scenario
from hub.schemas import SchemaRegistry, bundled_schemas_dir
from hub.sdk.registrar import LocalRegistrar
from hub.settings import Settings
from hub.status import StatusBoard
from hub.store import Store

log = logging.getLogger(__name__)


class Hub:
    def __init__(self, settings: Settings, with_router: bool = True) -> None:
        self.settings = settings
        self.with_router = with_router
        self.broker: EmbeddedBroker | None = None
        self.router: Router | None = None
        self.province: Province | None = None
        self._tasks: list[asyncio.Task] = []

    @property
    def bootstrap_servers(self) -> str:
        return self.settings.kafka_bootstrap_servers or self.broker.bootstrap_servers

    async def start(self) -> None:
        """Broker, then the control plane's state, then routing, then the province and its observer."""
        if not self.settings.kafka_bootstrap_servers:
            # Started from the main thread: the kernel ties the broker's death signal to this thread.
            self.broker = EmbeddedBroker().start()
            log.info("embedded broker on %s", self.broker.bootstrap_servers)
        await wait_for_broker(self.bootstrap_servers)
        await self._start_control_plane()
        self.message_log = MessageLog(self.store, worker_id(), settings=self.settings)
        await self.message_log.start()
        # Consumer-group joins take seconds on tansu: the router's and the connectors' run side by side.
        await asyncio.gather(self._start_router(), self._start_province())

    async def _start_router(self) -> None:
        if self.with_router:
            self.router = Router(self.bootstrap_servers, self.catalog, self.settings, self.message_log)
            await self.router.start()
            self._tasks.append(asyncio.create_task(self.router.run(), name="router"))

    async def _start_control_plane(self) -> None:
        self.scenario = load_scenario(self.settings.scenario)
        self.store = Store(self.settings.database_url)
        roots = [bundled_schemas_dir(), *([self.settings.schemas_dir] if self.settings.schemas_dir else [])]
        self.catalog = Catalog(self.store, SchemaRegistry.from_dirs(*roots), self.settings.require_signatures)
        self.catalog.reload()
        self.admin = TopicAdmin(self.bootstrap_servers, self.settings.partitions, self.settings.retention_ms)
        await self.admin.start()
        await self.admin.ensure([INGRESS_TOPIC, DLQ_TOPIC, CONTROL_TOPIC, HEARTBEAT_TOPIC,
                                 *map(inbox_topic, self.catalog.directory.connectors)])
        self.producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap_servers, acks="all",
                                         enable_idempotence=self.settings.kafka_idempotence, linger_ms=1,
                                         max_request_size=16 << 20)
        await self.producer.start()
        await self._announce_desired_states()
        self.dead_letters = DeadLetterTail(self.bootstrap_servers, self.settings.dlq_buffer)
        await self.dead_letters.start()
        self.status = StatusBoard(self.bootstrap_servers, self.settings.heartbeat_timeout_seconds,
                                  lambda: self.catalog.keyring)
        await self.status.start()
        self._tasks.append(asyncio.create_task(self.catalog.refresh_forever(self.settings.refresh_seconds)))

    async def _start_province(self) -> None:
        if self.settings.stubs:
            self.province = Province(self.scenario, self.settings.seed, self.settings.speed, self.settings.volume)
            await self.province.start(LocalRegistrar(self))
        clock = self.province.clock if self.province else SimClock(datetime.now(VN_TZ), 1.0)
        self.observer = Observer(self, clock)
        await self.observer.start()

    async def _announce_desired_states(self) -> None:
        """The control topic is the connectors' source of truth; rebuild it from the store."""
        paused = await asyncio.to_thread(self.store.paused_connectors)
        for connector_id in self.catalog.directory.connectors:
            await announce(self, connector_id, connector_id in paused)

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.observer.stop()
        if self.province:
            with contextlib.suppress(Exception):
                await self.province.stop()
        if self.router:
            await self.router.stop()
        for task in reversed(self._tasks):
            if task.get_name() != "router":
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=10)
        closings = (self.message_log.stop(), self.status.stop(), self.dead_letters.stop(), self.producer.stop(),
                    self.admin.close())
        for closing in closings:
            with contextlib.suppress(Exception):
                await closing
        self.store.close()
        if self.broker:
            await asyncio.to_thread(self.broker.stop)

    async def broker_reachable(self) -> bool:
        try:
            await asyncio.wait_for(self.admin.list(), timeout=3)
            return True
        except Exception:
            return False

    def router_running(self) -> bool:
        task = next((t for t in self._tasks if t.get_name() == "router"), None)
        return bool(self.router and self.router.running and task and not task.done())

    def broker_memory_exhausted(self) -> bool:
        """The embedded broker never frees consumed messages; refuse ingress above the configured ceiling."""
        if self.broker is None or self.broker.pid is None:
            return False
        return rss_bytes(self.broker.pid) > self.settings.embedded_max_rss_mb << 20

    async def ingest(self, raw: bytes, key: str | None, headers: list[tuple[str, bytes]] | None = None) -> None:
        """Put a message on the ingress topic and wait for the broker's acknowledgement."""
        await self.producer.send_and_wait(INGRESS_TOPIC, raw, key=key.encode() if key else None, headers=headers)

    async def dead_letter(self, raw: bytes, rejection: Rejection) -> None:
        """Keep a message refused at the HTTP edge on the DLQ, like the router does."""
        await self.producer.send_and_wait(DLQ_TOPIC, raw, headers=dead_letter_headers(rejection, "http", -1, -1))
