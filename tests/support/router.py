"""A router in the test's own process, on a broker namespace, with a SQLite store of three connectors."""

from __future__ import annotations

import asyncio
import contextlib

from hub.bus.catalog import Catalog
from hub.bus.router import Router
from hub.core.credentials import issue
from hub.core.schemas.registry import SchemaRegistry, bundled_schemas_dir
from hub.store import Store
from tests.support.connectors import MOT_CUA, NDXP

CONNECTORS = [MOT_CUA, NDXP, {"id": "bao-cao", "name": "Báo cáo", "agency": "000.00.01.H22",
                              "consumes": ["dossier.submitted"]}]
MOT_CUA_KEY, MOT_CUA_ROW = issue("mot-cua", "hmac-sha256")  # every message is sent as mot-cua


def store_of_three(tmp_path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    for spec in CONNECTORS:
        store.put_connector(spec["id"], spec)
    store.add_credential(MOT_CUA_ROW, None)
    return store


@contextlib.asynccontextmanager
async def running_router(broker, tmp_path, router: type[Router] = Router, store: Store | None = None, **overrides):
    """A started `router` (a Router subclass may be given) on `store` (a new one, unless given)."""
    own_store = store is None
    store = store_of_three(tmp_path) if own_store else store
    catalog = Catalog(store, SchemaRegistry.from_dirs(bundled_schemas_dir()))
    catalog.reload()
    router = router(broker.link, catalog, broker.settings(**{"partitions": 3, **overrides}))
    await router.start()
    task = asyncio.create_task(router.run())
    try:
        yield router
    finally:
        await router.stop()
        await asyncio.wait_for(task, 15)
        if own_store:
            store.close()
