"""What routing reads from the control plane: schemas, the connector directory and the keyring.

Every process keeps its own copy and reloads it from the store, so API and
router workers can run apart and still agree: a router checks the store's catalog version before each batch
(`fresh`), so what it decides was changed before the batch's messages were read.
"""

from __future__ import annotations

import asyncio
import logging

from hub.core.credentials import Keyring
from hub.core.directory import ConnectorSpec, Directory
from hub.core.schemas.registry import SchemaRegistry
from hub.store import Store

log = logging.getLogger(__name__)


class Catalog:
    def __init__(self, store: Store, schemas: SchemaRegistry, require_signatures: bool = True) -> None:
        self.store = store
        self.schemas = schemas
        self.directory = Directory()
        self._require_signatures = require_signatures
        self.keyring: Keyring | None = Keyring() if require_signatures else None
        self.version: int | None = None  # the store's catalog version this copy was loaded at

    def reload(self) -> None:
        loaded_at = self.store.catalog_version()  # read first: a change after it shows at the next check
        for type, version, schema in self.store.schema_versions():
            if not self.schemas.has(type, version):
                self.schemas.put(type, version, schema)
        self.directory = Directory.of(ConnectorSpec.model_validate(spec) for spec in self.store.connectors())
        if self._require_signatures:
            self.keyring = Keyring(self.store.credentials())
        self.version = loaded_at

    async def fresh(self) -> None:
        """Reload when the store's catalog changed since this copy was loaded."""
        if await asyncio.to_thread(self.store.catalog_version) != self.version:
            await asyncio.to_thread(self.reload)

    async def refresh_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(self.reload)
            except Exception:  # a store outage must not stop routing on the last good view
                log.exception("catalog reload failed; routing continues on the previous view")
