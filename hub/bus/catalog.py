"""What routing reads from the control plane: schemas, the connector directory with its data-sharing
agreements, the keyring, and the hub's own signing key.

Every process keeps its own copy and reloads it from the store, so API and
router workers can run apart and still agree: a router checks the store's catalog version before each batch
(`fresh`), so what it decides was changed before the batch's messages were read.
"""

from __future__ import annotations

import asyncio
import logging

from hub.core.agreements import Agreement, Agreements
from hub.core.credentials import Keyring
from hub.core.directory import ConnectorSpec, Directory
from hub.core.hub_signature import HubKey
from hub.core.schemas.registry import SchemaRegistry
from hub.store import Store

log = logging.getLogger(__name__)
HUB_KEY = "hub.signing_key"  # the hub_values entry holding the seed of the hub's Ed25519 key


class Catalog:
    def __init__(self, store: Store, schemas: SchemaRegistry, require_signatures: bool = True) -> None:
        self.store = store
        self.schemas = schemas
        self.directory = Directory()
        self._require_signatures = require_signatures
        self.keyring: Keyring | None = Keyring() if require_signatures else None
        self.version: int | None = None  # the store's catalog version this copy was loaded at
        self.hub_key: HubKey | None = None  # signs what the router projects under an agreement

    def reload(self) -> None:
        loaded_at = self.store.catalog_version()  # read first: a change after it shows at the next check
        for type, version, schema in self.store.schema_versions():
            if not self.schemas.has(type, version):
                self.schemas.put(type, version, schema)
        agreements = Agreements.of(Agreement.model_validate(document) for document in self.store.agreements())
        self.directory = Directory.of((ConnectorSpec.model_validate(spec) for spec in self.store.connectors()),
                                      agreements)
        if self.hub_key is None:  # made once by whichever process of the hub asks first, then kept
            self.hub_key = HubKey.parse(self.store.hub_value(HUB_KEY, HubKey.new_seed))
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
