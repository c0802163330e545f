"""Durable state of the control plane: connectors and their credentials, runtime schema versions,
data-sharing agreements, the province's inventory, the connectivity history, the message log and
attachments (hub.store.attachments).

SQLAlchemy Core keeps the SQL the same on SQLite (default, one file) and PostgreSQL (several hub processes):
the URL alone chooses. The tables are in hub.store.tables, each concern's queries in a module of its own.
"""

from __future__ import annotations

import sqlalchemy as sa

from hub.store.agreements import AgreementRows
from hub.store.changes import CatalogChanges
from hub.store.connectivity import ConnectivityRows
from hub.store.database import open_engine
from hub.store.inventory import InventoryRows
from hub.store.message_records import MessageLogRows, PositionMoved
from hub.store.registrations import ConnectorRows, CredentialRows
from hub.store.schemas import SchemaRows
from hub.store.tables import (
    connectivity_history,
    connectors,
    credentials,
    hub_values,
    message_log,
    message_log_anchors,
    message_log_positions,
    message_subjects,
    metadata,
    schema_versions,
)
from hub.store.values import HubValues

__all__ = ["PositionMoved", "Store", "connectivity_history", "connectors", "credentials", "hub_values", "message_log",
           "message_log_anchors", "message_log_positions", "message_subjects", "metadata", "schema_versions"]


class Store(ConnectorRows, CredentialRows, SchemaRows, InventoryRows, ConnectivityRows, MessageLogRows, HubValues,
            CatalogChanges, AgreementRows):
    def __init__(self, url: str) -> None:
        self.engine = open_engine(url)

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.SQLAlchemyError:
            return False

    def close(self) -> None:
        self.engine.dispose()
