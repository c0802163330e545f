"""Attachments by reference (the claim-check pattern): the id a message carries instead of the file, and
what a fetch signs.

A connector uploads a file to the hub (`POST /v1/attachments`, signed over its bytes like a message) and
puts the id it is answered, `lgsp-att-<32 lowercase hex>`, anywhere in a message's strings. The file never
travels through Kafka. A receiver fetches it (`GET /v1/attachments/{id}`) with a signature over
`fetch_request(id)`: the request line, bound to its signing time by the usual signature base
(hub.core.credentials), so the one verifier serves messages, uploads and fetches.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import quote, unquote

PREFIX = "lgsp-att-"
ID_PATTERN = r"^lgsp-att-[0-9a-f]{32}$"
_ID = re.compile(ID_PATTERN)
_IDS_IN = re.compile(rb"lgsp-att-[0-9a-f]{32}")  # in a message's bytes
_IDS_IN_TEXT = re.compile(r"lgsp-att-[0-9a-f]{32}")

PATH = "/v1/attachments"
NAME_HEADER = "LGSP-Attachment-Name"  # the file's name, UTF-8 percent-encoded
SHA256_HEADER = "LGSP-SHA256"  # hex, on the answer to a fetch (beside RFC 3230's Digest)
NAME_MAX_CHARS = 255


_DIGIT_RUN = re.compile(r"[0-9]{9}")  # what the hub masks as an ID number in logs and answers (personal_id)


def new_id() -> str:
    """128 random bits as hex, drawn again (one time in eight) when they hold a run of nine digits: the hub
    masks such runs as ID numbers wherever people read, and an id must read the same everywhere."""
    while _DIGIT_RUN.search(drawn := secrets.token_hex(16)):
        pass
    return f"{PREFIX}{drawn}"


def is_id(text: str) -> bool:
    return _ID.fullmatch(text) is not None


def ids_in_bytes(raw: bytes) -> set[str]:
    return {match.decode() for match in _IDS_IN.findall(raw)}


def ids_in_text(text: str) -> set[str]:
    return set(_IDS_IN_TEXT.findall(text))


def fetch_request(attachment_id: str) -> bytes:
    """What a fetch signs in place of a body: its method and path."""
    return f"GET {PATH}/{attachment_id}".encode()


def encoded_name(name: str) -> str:
    """A file name as the name header carries it: HTTP headers are Latin-1, names are any Unicode."""
    return quote(name, safe="")


def decoded_name(header: str) -> str:
    """The name header's value, decoded; raises ValueError when it is not percent-encoded UTF-8."""
    return unquote(header, errors="strict")
