"""The message log: every routing decision, hash-chained so that editing or deleting a record shows.

Each record carries the hash of the one before it in its chain (one chain per router worker), and its
own hash over its fields and that link. The router hands over a batch of decisions and moves on; a
background task hashes and writes them in batches, so the log never holds up routing. What it keeps of
each message depends on its type's payload mode (hub.audit.content): its SHA-256 by default (the "metadata"
mode of exchange layers such as X-Road), its text as well, or neither; and whom it concerned, as keyed
hashes of personal IDs. Records older than the retention are pruned; each chain then starts from an anchor.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson

from hub.audit.content import Entry, Keeping, PayloadModes, metadata_entry, subject_hash
from hub.audit.decisions import Decision, worker_id  # noqa: F401 - the chain of a process
from hub.store import Store, message_log

log = logging.getLogger(__name__)
GENESIS = "0" * 64


# The hashed fields, in the order they are hashed and stored; then what is hashed after them only when a
# record has it: the payload text, and a rejection's field and rule (CAUSE). A record without them hashes as
# records did before those columns were added, so older records still verify. Then prev_hash and hash.
FIELDS = (*Decision._fields[:Decision._fields.index("routed_at") + 1], "chain")
CAUSE = ("field", "rule")
NO_CAUSE = (None, None)
assert [c.name for c in message_log.columns][1:] == [*FIELDS, "payload", *CAUSE, "prev_hash", "hash"], \
    "store and log disagree"
PEPPER = "message_log.subject_pepper"  # the hub_values entry keying the subject hashes


def record_hash(prev_hash: str, values: list[Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + orjson.dumps(values)).hexdigest()


def hashed(values: list[Any], payload: str | None, cause: tuple[str | None, str | None] = NO_CAUSE) -> list[Any]:
    """What a record's hash covers. Each optional part has its own length (payload 1, cause 2), so no two
    records' parts can be taken for one another."""
    optional = ([] if payload is None else [payload]) + ([] if cause == NO_CAUSE else list(cause))
    return [*values, *optional] if optional else values


def chained(entries: list[Entry | Decision], chain: str, prev_hash: str) -> tuple[list[tuple], str]:
    """Rows (FIELDS, payload, CAUSE, prev_hash, hash) ready to store, each linked to the one before; the new
    head. A Decision stands for its metadata entry (the hash it carries, no payload, no subjects)."""
    rows = []
    for entry in entries:  # plain lists, not dicts: this runs for every routed message
        values, payload, _, cause = entry if isinstance(entry, Entry) else metadata_entry(entry)
        values = [*values, chain]
        digest = record_hash(prev_hash, hashed(values, payload, cause))
        values[4] = orjson.dumps(values[4]).decode()  # targets are stored as JSON text
        rows.append((*values, payload, *cause, prev_hash, digest))
        prev_hash = digest
    return rows, prev_hash


def prune(store: Store, retention_days: float, now: float | None = None) -> int:
    """Delete the records older than the retention (0 days keeps them for good); how many went."""
    if retention_days <= 0:
        return 0
    return store.prune_log((time.time() if now is None else now) - retention_days * 86400)


CHUNK = 10_000  # decisions per transaction: a long backlog must not hold the store's lock for seconds


class MessageLog:
    """Decisions are handed over with record(); `recorded` and `written` count them, so the router can
    commit its input only once the decisions about it are stored (a killed worker loses none)."""

    def __init__(self, store: Store, chain: str, flush_seconds: float = 0.5, payload_modes: dict[str, str] | None = None,
                 retention_days: float = 0, prune_seconds: float = 3600.0) -> None:
        """`payload_modes` and `retention_days` as LGSP_LOG_PAYLOAD and LGSP_LOG_RETENTION_DAYS give them (0: kept)."""
        self._store, self.chain, self._flush_seconds = store, chain, flush_seconds
        self._modes = PayloadModes(payload_modes or {})
        self.retention_days, self._prune_seconds = retention_days, prune_seconds
        self._keeping: Keeping | None = None  # once the pepper is read from the store
        self._pending: list[Decision] = []
        self._unwritten: list[Entry] = []  # prepared but not stored yet: the store may be away
        self._head = GENESIS
        self.recorded = 0
        self.written = 0
        self._progress = asyncio.Event()  # set (and replaced) whenever `written` moves
        self._wake = asyncio.Event()  # write now rather than at the next tick
        self._task: asyncio.Task | None = None
        self._stopping = asyncio.Event()
        self._writing = asyncio.Lock()  # one batch at a time: each links to the head the last one left

    async def start(self) -> None:
        self._head = await asyncio.to_thread(self._store.log_head, self.chain) or GENESIS
        pepper = await asyncio.to_thread(self._store.hub_value, PEPPER, lambda: secrets.token_hex(32))
        self._keeping = Keeping(self._modes, bytes.fromhex(pepper))
        self._task = asyncio.create_task(self._run(), name="message-log")

    def subject(self, personal_id: str) -> str:
        """The keyed hash under which the log finds the messages that carried this personal ID."""
        return subject_hash(self._keeping.pepper, personal_id)

    def record(self, decisions: list[Decision]) -> int:
        """Hand decisions over; returns the mark `written` reaches once they are stored."""
        self._pending.extend(decisions)
        self.recorded += len(decisions)
        if len(self._pending) >= CHUNK:
            self._wake.set()
        return self.recorded

    async def wait_written(self, mark: int) -> None:
        """Until the decisions up to `mark` are stored (or the log stopped: nothing would store them)."""
        while self.written < mark and self._task is not None and not self._task.done():
            progress = self._progress
            self._wake.set()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(progress.wait(), self._flush_seconds * 4)

    async def _run(self) -> None:
        # A minute after start (a starting hub has a backlog to route first), then every prune_seconds.
        next_prune = time.monotonic() + min(60.0, self._prune_seconds)
        while not self._stopping.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._flush_seconds)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:  # the store may be away for a while: keep the batch, retry next time
                log.exception("message log write failed; will retry")
                await asyncio.sleep(self._flush_seconds)
            if self.retention_days and time.monotonic() >= next_prune:
                next_prune = time.monotonic() + self._prune_seconds
                await self._prune()

    async def _prune(self) -> None:
        try:
            removed = await asyncio.to_thread(prune, self._store, self.retention_days)
        except Exception:
            log.exception("message log prune failed; the next one will retry")
            return
        if removed:
            log.info("message log: %d records older than %g days pruned", removed, self.retention_days)

    async def flush(self) -> None:
        """Write everything pending, CHUNK decisions per transaction."""
        async with self._writing:
            while self._pending or self._unwritten:
                if not self._unwritten:
                    batch, self._pending = self._pending[:CHUNK], self._pending[CHUNK:]
                    try:  # hashing, payload modes and subjects: in a thread, never on the router's path
                        self._unwritten = await asyncio.to_thread(self._prepare, batch)
                    except Exception:
                        self._pending[:0] = batch
                        raise
                rows, head = await asyncio.to_thread(self._write, self._unwritten)
                self._unwritten = []
                self._head = head
                self.written += len(rows)
                self._progress.set()
                self._progress = asyncio.Event()

    def _prepare(self, batch: list[Decision]) -> list[Entry]:
        return [self._keeping.entry(d) for d in batch]

    def _write(self, entries: list[Entry]) -> tuple[list[tuple], str]:
        rows, head = chained(entries, self.chain, self._head)
        subjects = [(index, subject) for index, entry in enumerate(entries) for subject in entry.subjects]
        self._store.append_log(rows, subjects)
        return rows, head

    async def stop(self) -> None:
        """Write what is pending, never cutting a write in half."""
        self._stopping.set()
        self._wake.set()
        if self._task:
            await self._task
        await self.flush()


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
                        (row["field"], row["rule"]))
        if row["prev_hash"] != expected_prev:
            why = "a record before it in the chain was deleted or changed"
            return Verdict(checked, {"seq": row["seq"], "message_id": row["message_id"], "why": why})
        if record_hash(row["prev_hash"], values) != row["hash"]:
            why = "its fields do not match its hash: the record was edited"
            return Verdict(checked, {"seq": row["seq"], "message_id": row["message_id"], "why": why})
        heads[chain] = row["hash"]
        checked += 1
    return Verdict(checked, None)
