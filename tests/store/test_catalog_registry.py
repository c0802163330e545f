"""Registration and the routing catalog go through the store: the same outcome on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from types import SimpleNamespace

import orjson
import pytest

from hub.bus.catalog import Catalog
from hub.bus.topics import Topics
from hub.control import registration
from hub.core.credentials import issue
from hub.core.schemas.registry import SchemaRegistry, bundled_schemas_dir
from hub.store import Store
from province.scenario import load_scenario

CONTROL_TOPIC = Topics().control

LAND = {"id": "dat-dai", "name": "CSDL đất đai", "agency": "000.01.04.H22", "systems": ["dat-dai"],
        "produces": ["dossier.status_changed"], "consumes": ["dossier.submitted"]}


class Hub(SimpleNamespace):
    """What registration uses of the hub: the store, the catalog, the inventory, topics and the control topic."""

    def __init__(self, store: Store) -> None:
        super().__init__(store=store, inventory=load_scenario("binh-dinh-2023"), topics=Topics(), created=[],
                         announced=[],
                         catalog=Catalog(store, SchemaRegistry.from_dirs(bundled_schemas_dir())))
        self.admin = SimpleNamespace(ensure=self._ensure)
        self.producer = SimpleNamespace(send_and_wait=self._send)

    async def _ensure(self, topics: list[str]) -> None:
        self.created += topics

    async def _send(self, topic: str, value: bytes, key: bytes) -> None:
        self.announced.append((topic, orjson.loads(value)))


async def test_a_registration_is_stored_announced_and_routed_to(store):
    hub = Hub(store)
    spec, created = await registration.register(hub, LAND)
    assert created and spec.id == "dat-dai"
    assert store.connector("dat-dai")["consumes"] == ["dossier.submitted"]
    assert hub.announced == [(CONTROL_TOPIC, {"connector": "dat-dai", "paused": False})]
    assert "dat-dai" in hub.catalog.directory.connectors
    assert hub.catalog.directory.fanout("dossier.submitted", "mot-cua") == ("dat-dai",)

    _, created = await registration.register(hub, {**LAND, "name": "CSDL đất đai tỉnh"})  # same id: replaced
    assert not created and len(hub.announced) == 1 and store.connector("dat-dai")["name"] == "CSDL đất đai tỉnh"

    assert await registration.set_paused(hub, "dat-dai", True)
    assert store.paused_connectors() == {"dat-dai"}
    assert hub.announced[-1] == (CONTROL_TOPIC, {"connector": "dat-dai", "paused": True})
    assert not await registration.set_paused(hub, "nobody", True)


async def test_a_refused_registration_leaves_the_store_alone(store):
    hub = Hub(store)
    with pytest.raises(registration.RegistryError) as refused:
        await registration.register(hub, {**LAND, "consumes": ["land.unknown"]})
    assert refused.value.details[0]["rule"] == "knownType"
    assert store.connectors() == [] and hub.announced == []


def test_another_process_sees_registrations_and_schema_versions(store_url):
    """API and router workers each keep a catalog and reload it from the one store."""
    api, worker = Store(store_url), Store(store_url)
    try:
        catalog = Catalog(worker, SchemaRegistry.from_dirs(bundled_schemas_dir()))
        catalog.reload()
        assert not catalog.schemas.has("land.parcel_updated", 1)
        api.put_connector("dat-dai", LAND)
        api.add_schema_version("land.parcel_updated", 1, {"type": "object", "required": ["MaThuaDat"]})
        catalog.reload()
        assert catalog.schemas.has("land.parcel_updated", 1)
        assert list(catalog.directory.connectors) == ["dat-dai"]
        api.delete_connector("dat-dai")
        catalog.reload()
        assert catalog.directory.connectors == {}
    finally:
        api.close()
        worker.close()


async def test_a_catalog_reloads_when_another_process_changed_the_store(store_url):
    """A router's copy follows every change made through another process's store, and only then reloads."""
    api, worker = Store(store_url), Store(store_url)
    try:
        catalog = Catalog(worker, SchemaRegistry.from_dirs(bundled_schemas_dir()))
        catalog.reload()
        credential, row = issue("dat-dai")
        api.add_schema_version("land.parcel_updated", 7, {"type": "object"})
        api.put_connector("dat-dai", LAND)
        api.add_credential(row, retire_others_at=None)
        await catalog.fresh()
        raw = b'{"any": "bytes"}'
        now = int(time.time())
        assert catalog.keyring.signer(credential.id, credential.sign(raw, now), str(now), raw, now) == "dat-dai"
        loaded = catalog.version
        assert loaded == api.catalog_version()
        await catalog.fresh()
        assert catalog.version == loaded  # nothing changed: nothing reloaded
        api.revoke_credentials("dat-dai", credential.id)
        await catalog.fresh()
        assert catalog.version > loaded and len(catalog.keyring) == 0
    finally:
        api.close()
        worker.close()
