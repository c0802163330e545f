"""The rules of attachments (hub.core.attachments): who uploads, who may fetch, and the log of each fetch.

An upload is signed over its bytes by the uploader's credential, a fetch over `fetch_request(id)` by the
fetcher's, both checked by routing's `authenticate` (the one verifier of messages). The uploader may fetch
its own; anyone else only what the hub delivered to it in a message from the uploader that referenced the
id (hub.audit.attachment_references, written by the log indexer with the delivery). Every fetch and every
refusal of one goes to the message log through the decisions topic, as a call's end does: outcome
`fetched` or `fetch_refused`, the fetcher as source, the attachment id as key, the message that granted it
as correlation id, and for a fetch the attachment's SHA-256 as the record's digest. So the log, and its
hash chain, say who took which file.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from hub.audit import decisions
from hub.core.attachments import NAME_HEADER, NAME_MAX_CHARS, decoded_name, fetch_request
from hub.core.errors import HubError
from hub.core.rejection import FieldError, Rejection
from hub.core.routing import Seal, authenticate
from hub.store.attachments import Attachment

NOT_REFERENCED = "notReferenced"
GRANT_WAIT_SECONDS = 5.0
_MEDIA_TYPE = "type/subtype, such as application/pdf"


class Refused(HubError):
    """An upload or fetch refused: the HTTP status, and the field and rule."""

    def __init__(self, status: int, field: str, rule: str, message: str, stage: str = "attachment",
                 source: str | None = None) -> None:
        super().__init__(message)
        self.status, self.field, self.rule, self.message, self.stage = status, field, rule, message, stage
        self.source = source  # the connector refused, once its signature proved who it is

    @property
    def details(self) -> dict[str, Any]:
        return {"stage": self.stage, "errors": [{"field": self.field, "rule": self.rule, "message": self.message}]}


def signer(hub: Any, signed: bytes, seal: Seal) -> str:
    """The connector whose credential signed `signed` recently; else Refused (403, the signature's rule)."""
    settings = hub.settings  # the body's size was limited before it was read (hub.control.api.limits)
    found = authenticate(signed, max(settings.max_attachment_bytes, len(signed)), hub.catalog.keyring, seal,
                         time.time(), max_age=settings.signature_max_age_seconds)
    if isinstance(found, Rejection):
        broken = found.errors[0]
        raise Refused(403, broken.field, broken.rule, broken.message, "auth")
    if found is None:
        raise Refused(403, "header.LGSP-Signature", "signed", "signatures are off (LGSP_REQUIRE_SIGNATURES=false): "
                      "no signer names the uploader or fetcher, so attachments are refused")
    return found


def described(headers: Any) -> tuple[str, str]:
    """The content type and file name an upload declares; Refused (422) naming the header and rule."""
    content_type = (headers.get("content-type") or "").strip()
    kind, slash, sub = content_type.partition(";")[0].strip().partition("/")
    if not (slash and kind and sub) or any(c.isspace() for c in kind + sub) or len(content_type) > 255:
        raise Refused(422, "header.Content-Type", "mediaType", f"give the file's media type ({_MEDIA_TYPE}), at "
                      "most 255 characters")
    given = headers.get(NAME_HEADER)
    if not given:
        raise Refused(422, f"header.{NAME_HEADER}", "required", "give the file's name, UTF-8 percent-encoded")
    try:
        name = decoded_name(given)
    except UnicodeDecodeError:
        raise Refused(422, f"header.{NAME_HEADER}", "percentEncoded", "the name must be UTF-8, percent-encoded "
                      "(RFC 3986)") from None
    # A name is a label (documents are numbered "12/QĐ-UBND"): the bytes are stored by id, never by name.
    if not name.strip() or len(name) > NAME_MAX_CHARS or any(ord(c) < 32 or c == "\x7f" for c in name):
        raise Refused(422, f"header.{NAME_HEADER}", "fileName", f"a file name of 1 to {NAME_MAX_CHARS} characters, "
                      "no control characters")
    return content_type, name


async def upload(hub: Any, data: bytes, headers: Any, seal: Seal) -> Attachment:
    """Store an upload from the connector that signed it."""
    uploader = await asyncio.to_thread(signer, hub, data, seal)  # up to 32 MiB hashed: off the event loop
    content_type, name = described(headers)
    if not data:
        raise Refused(422, "body", "minLength", "an attachment has at least one byte")
    return await asyncio.to_thread(hub.attachments.put, data, content_type, name, uploader)


async def fetchable(hub: Any, attachment_id: str, seal: Seal) -> tuple[Attachment, str, str | None]:
    """The attachment, its fetcher and the message that granted it (None: the uploader's own); else Refused."""
    fetcher = signer(hub, fetch_request(attachment_id), seal)
    attachment = await asyncio.to_thread(hub.attachments.get, attachment_id)
    if attachment is not None and attachment.uploader == fetcher:
        return attachment, fetcher, None
    granted = await _granted(hub, attachment, fetcher)
    if granted is None:  # an unknown id is answered alike: no one learns what exists but is not theirs
        raise Refused(404, "path.attachment_id", NOT_REFERENCED, f"no message referencing {attachment_id} was "
                      f"delivered to {fetcher!r} from its uploader (yet: the message log is written a moment after "
                      "delivery; ask again shortly)", source=fetcher)
    return attachment, fetcher, granted


async def _granted(hub: Any, attachment: Attachment | None, fetcher: str) -> str | None:
    """The message that grants `fetcher` the attachment, waited for a few seconds: the log indexer writes a
    delivery's references a moment after the delivery, which the receiver may already be handling. An unknown
    id waits alike, so the time of the answer tells nothing either."""
    deadline = time.monotonic() + GRANT_WAIT_SECONDS
    while True:
        granted = await asyncio.to_thread(hub.attachments.granted_by, attachment.id, fetcher) if attachment else None
        if granted is not None or time.monotonic() >= deadline:
            return granted
        await asyncio.sleep(0.25)


async def log_fetch(hub: Any, attachment_id: str, fetcher: str | None = None, attachment: Attachment | None = None,
                    granted: str | None = None, refused: Refused | None = None) -> None:
    """The fetch, or its refusal, on the decisions topic, whence the log indexer chains it."""
    if refused is None:
        reason = (f"{attachment.size} bytes uploaded by {attachment.uploader!r}"
                  + (f", referenced by message {granted}" if granted else ", its uploader's own"))
        decision = decisions.Decision(None, None, None, fetcher, (), "fetched", None, reason, granted, attachment_id,
                                      attachment.sha256, time.time())
    else:
        decision = decisions.Decision(None, None, None, refused.source, (), "fetch_refused", refused.stage, refused.message,
                                      None, attachment_id, None, time.time(), refused.field, refused.rule)
    key, value, headers = decisions.encode(decision, decisions.worker_id().encode())
    await hub.producer.send_and_wait(hub.topics.decisions, value, key=key, headers=headers)


def kept(hub: Any, refused: Refused, address: str | None) -> bool:
    """Whether a refused fetch is logged in full: one the signature does not prove is limited per address,
    like every refusal at authentication (hub.control.refusals)."""
    rejection = Rejection.of("auth" if refused.stage == "auth" else "routing",
                             [FieldError(refused.field, refused.rule, refused.message)])
    return hub.refusals.keep(address, rejection, time.time(), refused.stage != "auth")
