"""The store's tables (SQLAlchemy Core metadata), and the columns added to tables that already exist."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()

connectors = sa.Table(
    "connectors", metadata,
    sa.Column("id", sa.String(63), primary_key=True),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("paused", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

schema_versions = sa.Table(
    "schema_versions", metadata,
    sa.Column("type", sa.String(100), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("schema", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


# One row: a counter bumped by every change to what routing reads (hub.store.changes).
catalog_changes = sa.Table(
    "catalog_changes", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
)


@sa.event.listens_for(catalog_changes, "after_create")
def _first_version(target: sa.Table, connection: sa.Connection, **kw: Any) -> None:
    connection.execute(target.insert().values(id=1, version=0))  # the row exists with the table: bumps only update


# The hub's half of each connector credential (hub.core.credentials): a public key, or an HMAC key.
credentials = sa.Table(
    "credentials", metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("connector_id", sa.String(63), nullable=False, index=True),
    sa.Column("algorithm", sa.String(16), nullable=False),
    sa.Column("verify_key", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True)),  # set when a newer credential replaces it
)


# Data-sharing agreements (hub.core.agreements): the current version of each, and every version ever written.
agreements = sa.Table(
    "agreements", metadata,
    sa.Column("id", sa.String(63), primary_key=True),
    sa.Column("consumer", sa.String(63), nullable=False, index=True),
    sa.Column("document", sa.JSON, nullable=False),  # the Agreement, as JSON
)

agreement_changes = sa.Table(
    "agreement_changes", metadata,
    sa.Column("agreement_id", sa.String(63), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("change", sa.String(16), nullable=False),  # created | changed | ended
    sa.Column("changed_by", sa.String(200), nullable=False),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("document", sa.JSON, nullable=False),  # the agreement as this change left it
)


connectivity_history = sa.Table(
    "connectivity_history", metadata,
    sa.Column("at", sa.DateTime(timezone=True), primary_key=True),  # simulated time of the sample
    sa.Column("share", sa.Float, nullable=False),
    sa.Column("connected", sa.Integer, nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
)


# Columns after seq: hub.audit.message_log.FIELDS, then what is hashed only when a record has it (the payload,
# the first broken rule of a rejection), then the links.
message_log = sa.Table(
    "message_log", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.String(36), index=True),
    sa.Column("type", sa.String(100)),
    sa.Column("version", sa.Integer),
    sa.Column("source", sa.String(63)),
    sa.Column("targets", sa.JSON, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("stage", sa.String(16)),
    sa.Column("reason", sa.Text),
    sa.Column("correlation_id", sa.String(36), index=True),
    sa.Column("key", sa.String(256), index=True),
    sa.Column("payload_sha256", sa.String(64), nullable=False),
    sa.Column("routed_at", sa.Float, nullable=False),
    sa.Column("chain", sa.String(100), nullable=False),
    sa.Column("payload", sa.Text),  # the message text, for types logged in `full` mode
    sa.Column("field", sa.Text),  # a rejection's first broken rule: where (beside its stage and reason) ...
    sa.Column("rule", sa.Text),  # ... and which (a schema may name its own keywords: no length bound)
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    # Not hashed: where the decision was made (`<ingress topic>/<partition>/<offset>`; None at the HTTP edge),
    # so a decision the router published twice is stored once.
    sa.Column("origin", sa.Text),
    # Hashed when a record has it: per delivery, the agreement it followed and the fields delivered, and the
    # consumers refused for want of one (JSON; hub.audit.decisions.sharing).
    sa.Column("sharing", sa.Text),
    sa.Index("ix_message_log_origin", "origin", unique=True),  # NULLs are never equal: HTTP-edge ones all fit
)

# Whom a record concerned: keyed hashes of the personal IDs in its message (hub.audit.content), never the IDs.
message_subjects = sa.Table(
    "message_subjects", metadata,
    sa.Column("subject", sa.String(64), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, index=True),  # message_log.seq
)

# Where each chain now starts after a prune: its last pruned record, which the first one kept links to.
message_log_anchors = sa.Table(
    "message_log_anchors", metadata,
    sa.Column("chain", sa.String(100), primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# How far the log indexer has stored each decisions partition's chain, written with that chain's rows.
message_log_positions = sa.Table(
    "message_log_positions", metadata,
    sa.Column("chain", sa.String(100), primary_key=True),
    sa.Column("next_offset", sa.BigInteger, nullable=False),
)

# Files sent by reference (hub.core.attachments): what the hub knows of each, whichever backend holds the bytes
# (hub.store.attachments); pruned with the message log.
attachments = sa.Table(
    "attachments", metadata,
    sa.Column("id", sa.String(41), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("content_type", sa.String(255), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("uploader", sa.String(63), nullable=False),
    sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False, index=True),
)

# The bytes, when the store's database holds them (no LGSP_ATTACHMENTS_DIR): BLOB on SQLite, bytea on PostgreSQL.
attachment_data = sa.Table(
    "attachment_data", metadata,
    sa.Column("id", sa.String(41), primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

# Who may fetch an attachment besides its uploader: each consumer the hub delivered a message to that
# referenced it, from its uploader. Written by the log indexer with the delivery's record.
attachment_references = sa.Table(
    "attachment_references", metadata,
    sa.Column("attachment_id", sa.String(41), primary_key=True),
    sa.Column("consumer", sa.String(63), primary_key=True),
    sa.Column("message_id", sa.String(36), primary_key=True),
)

# Small values the hub creates once and keeps (the pepper of the subject hashes).
# The province's inventory as the operator last loaded it: one document.
inventory = sa.Table(
    "inventory", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
)


hub_values = sa.Table(
    "hub_values", metadata,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# Nullable text columns added after a table first shipped: create_all adds missing tables only.
ADDED_COLUMNS = {"message_log": ("payload", "field", "rule", "origin", "sharing")}


@sa.event.listens_for(metadata, "after_create")
def _add_missing_columns(target: sa.MetaData, connection: sa.Connection, **kw: Any) -> None:
    """A table created by an earlier version of the hub gets the columns added since."""
    for table, names in ADDED_COLUMNS.items():
        present = {column["name"] for column in sa.inspect(connection).get_columns(table)}
        for name in names:
            if name not in present:
                connection.exec_driver_sql(f'ALTER TABLE {table} ADD COLUMN "{name}" TEXT')
    for index in message_log.indexes:  # create_all makes a table's indexes only with the table
        index.create(connection, checkfirst=True)
