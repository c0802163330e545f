"""The message log: every routing decision, hash-chained so that editing or deleting a record shows.

Each record carries the hash of the one before it in its chain (one chain per router worker), and its
own hash over its fields and that link. The router hands over a batch of decisions and moves on; a
background task hashes and writes them in batches, so the log never holds up routing. Payloads are not
stored: only their SHA-256 (the "metadata" mode of exchange layers such as X-Road).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

from hub.store import Store, message_log

log = logging.getLogger(__name__)
GENESIS = "0" * 64
MAX_VERSION = 2**31 - 1  # the message_log.version column is a 32-bit integer on PostgreSQL


class Decision(NamedTuple):  # a tuple: one is built for every routed message
    message_id: str | None
    type: str | None
    version: int | None
    source: str | None
    targets: tuple[str, ...]
    outcome: str  # delivered | rejected
    stage: str | None
    reason: str | None
    correlation_id: str | None
    key: str | None
    payload_sha256: str
    routed_at: float


def worker_id() -> str:
    """The chain of this process: host and process id, so restarted workers start a fresh chain."""
    return f"{socket.gethostname()}-{os.getpid()}"


def _storable(text: str | None) -> str | None:
    """PostgreSQL text holds no NUL: the log keeps U+FFFD in its place (ordering keys, reasons quoting input)."""
    return text.replace("\x00", "\ufffd") if text and "\x00" in text else text


def decision(record: Any, outcome: Any, routed_at: float) -> Decision:
    """What the log keeps of one routing outcome (hub.routing.Delivery or Rejection)."""
    envelope = outcome.envelope
    rejected = not hasattr(outcome, "targets")
    return Decision(
        message_id=str(envelope.id) if envelope else None, type=envelope.type if envelope else None,
        # a version past 32 bits (only ever refused: no schema has it) does not fit PostgreSQL's integer column
        version=envelope.version if envelope and envelope.version <= MAX_VERSION else None,
        source=envelope.source if envelope else None,
        targets=() if rejected else outcome.targets, outcome="rejected" if rejected else "delivered",
        stage=outcome.stage if rejected else None, reason=_storable(outcome.reason) if rejected else None,
        correlation_id=str(envelope.correlation_id) if envelope and envelope.correlation_id else None,
        key=_storable(envelope.key) if envelope else None,
        payload_sha256=hashlib.sha256(record.value or b"").hexdigest(), routed_at=routed_at)


# The hashed fields, in the order they are hashed and stored (then prev_hash and hash).
FIELDS = (*Decision._fields, "chain")
assert [c.name for c in message_log.columns][1:] == [*FIELDS, "prev_hash", "hash"], "store and log disagree"


def record_hash(prev_hash: str, values: list[Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + orjson.dumps(values)).hexdigest()


def chained(decisions: list[Decision], chain: str, prev_hash: str) -> tuple[list[tuple], str]:
    """Rows (FIELDS, prev_hash, hash) ready to store, each linked to the one before; and the new head."""
    rows = []
    for d in decisions:  # plain lists, not dicts: this runs for every routed message
        values = [d.message_id, d.type, d.version, d.source, list(d.targets), d.outcome, d.stage, d.reason,
                  d.correlation_id, d.key, d.payload_sha256, d.routed_at, chain]
        digest = record_hash(prev_hash, values)
        values[4] = orjson.dumps(values[4]).decode()  # targets are stored as JSON text
        rows.append((*values, prev_hash, digest))
        prev_hash = digest
    return rows, prev_hash


class MessageLog:
    def __init__(self, store: Store, chain: str, flush_seconds: float = 0.5) -> None:
        self._store, self.chain, self._flush_seconds = store, chain, flush_seconds
        self._pending: list[Decision] = []
        self._head = GENESIS
        self.written = 0
        self._task: asyncio.Task | None = None
        self._stopping = asyncio.Event()
        self._writing = asyncio.Lock()  # one batch at a time: each links to the head the last one left

    async def start(self) -> None:
        self._head = await asyncio.to_thread(self._store.log_head, self.chain) or GENESIS
        self._task = asyncio.create_task(self._run(), name="message-log")

    def record(self, decisions: list[Decision]) -> None:
        self._pending.extend(decisions)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._flush_seconds)
            try:
                await self.flush()
            except Exception:  # the store may be away for a while: keep the batch, retry next time
                log.exception("message log write failed; will retry")

    async def flush(self) -> None:
        async with self._writing:
            batch, self._pending = self._pending, []
            if not batch:
                return
            try:
                rows, head = await asyncio.to_thread(self._write, batch)
            except Exception:
                self._pending[:0] = batch
                raise
            self._head = head
            self.written += len(rows)

    def _write(self, batch: list[Decision]) -> tuple[list[tuple], str]:
        rows, head = chained(batch, self.chain, self._head)
        self._store.append_log(rows)
        return rows, head

    async def stop(self) -> None:
        """Write what is pending, never cutting a write in half."""
        self._stopping.set()
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
    heads: dict[str, str] = {}
    checked = 0
    for row in store.log_records():
        chain = row["chain"]
        expected_prev = heads.get(chain, GENESIS)
        values = [list(row[name]) if name == "targets" else row[name] for name in FIELDS]
        if row["prev_hash"] != expected_prev:
            why = "a record before it in the chain was deleted or changed"
            return Verdict(checked, {"seq": row["seq"], "message_id": row["message_id"], "why": why})
        if record_hash(row["prev_hash"], values) != row["hash"]:
            why = "its fields do not match its hash: the record was edited"
            return Verdict(checked, {"seq": row["seq"], "message_id": row["message_id"], "why": why})
        heads[chain] = row["hash"]
        checked += 1
    return Verdict(checked, None)
