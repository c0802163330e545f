"""What the message log keeps of each message: its payload mode per type, and whom it concerned.

Modes, chosen per type by `LGSP_LOG_PAYLOAD` (fnmatch patterns): `metadata` keeps the SHA-256 of the
message as received (the default), `full` keeps the message text as well, `none` keeps neither (the routing
decision itself is still logged and chained). Unless the mode is `none`, every personal ID found in the
message is kept as an HMAC-SHA256 under the hub's own random pepper, so the log can answer "which messages
concerned this citizen" without holding one ID in clear: a plain SHA-256 of a 12-digit ID is guessed by
trying them all. All of this runs in the log's writer thread, not in the router.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any, Literal, NamedTuple

import orjson

from hub.core import personal_id

PayloadMode = Literal["full", "metadata", "none"]
MODES = ("full", "metadata", "none")
DEFAULT_MODE: PayloadMode = "metadata"


class PayloadModes:
    """The payload mode of a message type: an exact pattern first, then the longest matching one."""

    _CACHE_MAX = 4096  # types of refused messages are whatever senders wrote: bound the cache

    def __init__(self, patterns: Mapping[str, str] | None = None) -> None:
        unknown = {mode for mode in (patterns or {}).values() if mode not in MODES}
        if unknown:
            raise ValueError(f"payload modes are {', '.join(MODES)}; not {', '.join(sorted(unknown))}")
        self._patterns = sorted((patterns or {}).items(), key=lambda item: -len(item[0]))
        self._cache: dict[str | None, str] = {}

    def mode(self, type: str | None) -> str:
        try:  # looked up for every logged message: a dict hit after the first of each type
            return self._cache[type]
        except KeyError:
            pass
        if len(self._cache) >= self._CACHE_MAX:
            self._cache.clear()
        found = self._cache[type] = self._match(type or "")
        return found

    def _match(self, type: str) -> str:
        exact = dict(self._patterns).get(type)
        if exact:
            return exact
        return next((mode for pattern, mode in self._patterns if fnmatchcase(type, pattern)), DEFAULT_MODE)


# A JSON string of exactly twelve digits. The log reads the message as received: the router need not keep
# its decoded payload for the writer, and refused messages and the envelope's ordering key are covered alike.
_TWELVE_DIGITS = re.compile(rb'"(\d{12})"')


def personal_ids_in(raw: bytes) -> set[str]:
    """The well-formed personal IDs among the strings of a JSON message (envelope, ordering key, payload)."""
    if b"\\u" in raw:  # escaped characters could spell digits: read the message properly
        return personal_ids(parsed(raw))
    return {value for match in _TWELVE_DIGITS.findall(raw) if _is_personal_id(value := match.decode())}


def personal_ids(node: Any) -> set[str]:
    """Every string in a JSON value that is a well-formed personal ID (walked without recursion)."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if len(item) == 12 and _is_personal_id(item):
                found.add(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _is_personal_id(value: str) -> bool:
    try:
        personal_id.birth_year(value)
    except ValueError:
        return False
    return True


def subject_hash(pepper: bytes, value: str) -> str:
    """The keyed hash under which the log finds a personal ID."""
    return hmac.digest(pepper, value.encode(), "sha256").hex()


class SubjectKey:
    """subject_hash for the writer: HMAC-SHA256 (RFC 2104) with the two padded key blocks hashed once, not
    per ID; a third of hmac.digest's cost, paid per personal ID in a thread that shares the router's GIL."""

    def __init__(self, pepper: bytes) -> None:
        block = (hashlib.sha256(pepper).digest() if len(pepper) > 64 else pepper).ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in block))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in block))

    def hash(self, value: str) -> str:
        inner = self._inner.copy()
        inner.update(value.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def payload_text(raw: bytes) -> str:
    """The message as stored in `full` mode: UTF-8 text (its hash still covers the exact bytes received),
    with no NUL, which PostgreSQL text cannot hold."""
    text = raw.decode("utf-8", "replace")
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def parsed(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def sha256(raw: bytes | None) -> str:
    return hashlib.sha256(raw or b"").hexdigest()


def subjects(key: SubjectKey, raw: bytes | None) -> tuple[str, ...]:
    """Keyed hashes of the personal IDs a message carried, anywhere in it (ordering key included)."""
    return tuple(map(key.hash, personal_ids_in(raw))) if raw else ()


class Entry(NamedTuple):
    values: list  # the decision's hashed fields (hub.audit.message_log.FIELDS) but the chain
    payload: str | None  # the message text, for a type logged in full
    subjects: tuple[str, ...]  # keyed hashes of the personal IDs it carried
    cause: tuple[str | None, str | None] = (None, None)  # a rejection's field and rule
    sharing: dict[str, Any] | None = None  # what agreements made of it (hub.audit.decisions.sharing)


class Keeping:
    """Turns a routing decision (hub.audit.decisions.Decision) into what the log keeps of it."""

    def __init__(self, modes: PayloadModes, pepper: bytes) -> None:
        self.modes, self.pepper, self._key = modes, pepper, SubjectKey(pepper)

    def entry(self, d: Any) -> Entry:
        mode = self.modes.mode(d.type)
        digest, payload, found = "", None, ()
        if mode != "none":
            digest = d.payload_sha256 if d.payload_sha256 is not None else sha256(d.raw)
            if mode == "full" and d.raw is not None:
                payload = payload_text(d.raw)
            found = subjects(self._key, d.raw)
        return Entry(hashed_fields(d, digest), payload, found, (d.field, d.rule), d.sharing)


def metadata_entry(d: Any) -> Entry:
    """A decision kept in `metadata` mode, with no subjects: the hash it carries, else that of its message."""
    digest = d.payload_sha256 if d.payload_sha256 is not None else sha256(d.raw)
    return Entry(hashed_fields(d, digest), None, (), (d.field, d.rule), d.sharing)


def hashed_fields(d: Any, digest: str) -> list:
    """A decision's hashed fields but the chain (hub.audit.message_log.FIELDS), as a plain list: one per routed message."""
    return [d.message_id, d.type, d.version, d.source, list(d.targets), d.outcome, d.stage, d.reason,
            d.correlation_id, d.key, digest, d.routed_at]
