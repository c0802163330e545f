"""The message log: every routing decision, hash-chained so that editing or deleting a record shows.

Decisions reach it through the `<prefix>.decisions` topic: the log indexer (hub.bus.log_indexer) reads each
partition and hands its decisions here, one chain per partition, written with the partition's position in
the same transaction. Each record carries the hash of the one before it in its chain, and its own hash over
its fields and that link. What it keeps of each message depends on its type's payload mode
(hub.audit.content): its SHA-256 by default (the "metadata" mode of exchange layers such as X-Road), its
text as well, or neither; and whom it concerned, as keyed hashes of personal IDs. Records older than the
retention are pruned; each chain then starts from an anchor.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

import orjson

from hub.audit.attachment_references import references
from hub.audit.content import Entry, Keeping, PayloadModes, metadata_entry, subject_hash
from hub.audit.decisions import Decision
from hub.store import Store, message_log
from hub.store.attachments import Attachments

log = logging.getLogger(__name__)
GENESIS = "0" * 64


# The hashed fields, in the order they are hashed and stored; then what is hashed after them only when a
# record has it: the payload text, and a rejection's field and rule (CAUSE). A record without them hashes as
# records did before those columns were added, so older records still verify. Then prev_hash and hash, and
# the decision's origin, which is not hashed (records from before it still verify).
FIELDS = (*Decision._fields[:Decision._fields.index("routed_at") + 1], "chain")
CAUSE = ("field", "rule")
NO_CAUSE = (None, None)
assert [c.name for c in message_log.columns][1:] == [*FIELDS, "payload", *CAUSE, "prev_hash", "hash", "origin",
                                                     "sharing"], \
    "store and log disagree"
PEPPER = "message_log.subject_pepper"  # the hub_values entry keying the subject hashes


def record_hash(prev_hash: str, values: list[Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + orjson.dumps(values)).hexdigest()


def hashed(values: list[Any], payload: str | None, cause: tuple[str | None, str | None] = NO_CAUSE,
           sharing: dict[str, Any] | None = None) -> list[Any]:
    """What a record's hash covers. Each optional part has its own length (payload 1, cause 2), so no two
    records' parts can be taken for one another; sharing, last, is the only one a JSON object."""
    optional = ([] if payload is None else [payload]) + ([] if cause == NO_CAUSE else list(cause)) + (
        [] if sharing is None else [sharing])
    return [*values, *optional] if optional else values


def chained(entries: list[Entry | Decision], chain: str, prev_hash: str,
            origins: list[str | None] | None = None) -> tuple[list[tuple], str]:
    """Rows (FIELDS, payload, CAUSE, prev_hash, hash, origin, sharing) ready to store, each linked to the one before;
    the new head. A Decision stands for its metadata entry (the hash it carries, no payload, no subjects)."""
    rows = []
    origins = origins or [None] * len(entries)
    for entry, origin in zip(entries, origins, strict=True):  # plain lists, not dicts: one per routed message
        values, payload, _, cause, sharing = entry if isinstance(entry, Entry) else metadata_entry(entry)
        values = [*values, chain]
        digest = record_hash(prev_hash, hashed(values, payload, cause, sharing))
        values[4] = orjson.dumps(values[4]).decode()  # targets are stored as JSON text
        rows.append((*values, payload, *cause, prev_hash, digest, origin,
                     None if sharing is None else orjson.dumps(sharing).decode()))
        prev_hash = digest
    return rows, prev_hash


def prune(store: Store, retention_days: float, now: float | None = None,
          attachments: Attachments | None = None) -> int:
    """Delete the records older than the retention (0 days keeps them for good), and the attachments uploaded
    before the same cut-off; how many records went."""
    if retention_days <= 0:
        return 0
    before = (time.time() if now is None else now) - retention_days * 86400
    removed = store.prune_log(before)
    if attachments is not None:
        gone = attachments.prune(datetime.fromtimestamp(before, timezone.utc))
        if gone:
            log.info("attachments: %d uploaded more than %g days ago pruned", gone, retention_days)
    return removed


def pepper(store: Store) -> bytes:
    """The key of the subject hashes: made once, in the store, and shared by every process of the hub."""
    return bytes.fromhex(store.hub_value(PEPPER, lambda: secrets.token_hex(32)))


CHUNK = 10_000  # decisions per transaction: a long backlog must not hold the store's lock for seconds


@dataclass(frozen=True)
class ChainHead:
    """Where a chain stands in the store: the hash its next record links to, and the offset of the next
    decision its source partition holds for it (None: nothing stored yet)."""

    chain: str
    hash: str = GENESIS
    next_offset: int | None = None


class MessageLog:
    """The log's writer: chains decisions and stores them, with their source position, one transaction a batch."""

    def __init__(self, store: Store, payload_modes: dict[str, str] | None = None, retention_days: float = 0,
                 attachments: Attachments | None = None) -> None:
        """`payload_modes` and `retention_days` as LGSP_LOG_PAYLOAD and LGSP_LOG_RETENTION_DAYS give them (0: kept);
        `attachments` are pruned with the records."""
        self._store = store
        self._attachments = attachments
        self._modes = PayloadModes(payload_modes or {})
        self.retention_days = retention_days
        self._keeping: Keeping | None = None  # once the pepper is read from the store

    async def start(self) -> None:
        self._keeping = Keeping(self._modes, await asyncio.to_thread(pepper, self._store))

    def subject(self, personal_id: str) -> str:
        """The keyed hash under which the log finds the messages that carried this personal ID."""
        return subject_hash(self._keeping.pepper, personal_id)

    async def head(self, chain: str) -> ChainHead:
        """The chain as stored: its head and its source position."""
        return await asyncio.to_thread(self._head, chain)

    def _head(self, chain: str) -> ChainHead:
        return ChainHead(chain, self._store.log_head(chain) or GENESIS, self._store.log_position(chain))

    async def write(self, head: ChainHead, decisions: list[Decision], next_offset: int | None = None) -> ChainHead:
        """Store the decisions not stored yet (by origin) on the chain, and the source position `next_offset`,
        in one transaction; the chain's new head. Raises (store away, another writer: PositionMoved) with
        nothing stored."""
        return await asyncio.to_thread(self._write, head, decisions, next_offset)

    def _write(self, head: ChainHead, decisions: list[Decision], next_offset: int | None) -> ChainHead:
        fresh = self._unlogged(decisions)  # before chaining: a skipped duplicate leaves no hole in the chain
        entries = [self._keeping.entry(d) for d in fresh]
        rows, digest = chained(entries, head.chain, head.hash, [d.origin for d in fresh])
        subjects = [(index, subject) for index, entry in enumerate(entries) for subject in entry.subjects]
        position = None if next_offset is None else (head.chain, head.next_offset, next_offset)
        referenced = [reference for d in fresh for reference in references(d)]
        self._store.append_log(rows, subjects, position, referenced)
        return replace(head, hash=digest, next_offset=head.next_offset if next_offset is None else next_offset)

    def _unlogged(self, decisions: list[Decision]) -> list[Decision]:
        """The decisions whose origin neither an earlier one of the batch nor a stored record has."""
        origins = [d.origin for d in decisions if d.origin is not None]
        seen = self._store.logged_origins(list(set(origins))) if origins else set()
        fresh = []
        for d in decisions:
            if d.origin is not None:
                if d.origin in seen:
                    continue
                seen.add(d.origin)
            fresh.append(d)
        return fresh

    async def prune(self) -> None:
        """Prune past the retention; a failure is logged, and the next prune retries."""
        try:
            removed = await asyncio.to_thread(prune, self._store, self.retention_days, None, self._attachments)
        except Exception:
            log.exception("message log prune failed; the next one will retry")
            return
        if removed:
            log.info("message log: %d records older than %g days pruned", removed, self.retention_days)


@dataclass(frozen=True)
class Verdict:
    checked: int
    broken: dict[str, Any] | None  # the first record that does not fit its chain, and why

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify(store: Store) -> Verdict:
    """Recompute every chain; name the first record whose hash or link does not hold."""
    anchors = store.log_anchors()  # a pruned chain starts from its last pruned record
    heads: dict[str, str] = {}
    checked = 0
    for row in store.log_records():
        chain = row["chain"]
        expected_prev = heads.get(chain) or anchors.get(chain, GENESIS)
        values = hashed([list(row[name]) if name == "targets" else row[name] for name in FIELDS], row["payload"],
                        (row["field"], row["rule"]), orjson.loads(row["sharing"]) if row["sharing"] else None)
        if row["prev_hash"] != expected_prev:
            why = "a record before it in the chain was deleted or changed"
            return Verdict(checked, {"seq": row["seq"], "message_id": row["message_id"], "why": why})
        if record_hash(row["prev_hash"], values) != row["hash"]:
            why = "its fields do not match its hash: the record was edited"
            return Verdict(checked, {"seq": row["seq"], "message_id": row["message_id"], "why": why})
        heads[chain] = row["hash"]
        checked += 1
    return Verdict(checked, None)
