"""Which attachments a delivered message referenced, and to whom: what lets a receiver fetch them.

Found as the log finds personal IDs (hub.audit.content): in the message as received, by the id's form
(hub.core.attachments) anywhere in its strings. A target the message reached under a data-sharing agreement
got the projected payload: only the ids left in it count for that target. The store keeps a reference only
when the attachment's uploader is the message's source (hub.store.attachments.record_references): naming
someone else's attachment grants nothing.
"""

from __future__ import annotations

from typing import Any

from hub.audit.content import parsed
from hub.core.agreements import Projection, projected
from hub.core.attachments import ids_in_bytes, ids_in_text

Reference = tuple[str, str, str, str]  # attachment id, message id, consumer, source


def references(d: Any) -> list[Reference]:
    """The references a decision (hub.audit.decisions.Decision) makes: none unless it delivered a message."""
    if d.outcome != "delivered" or not d.raw or not d.message_id or not d.source:
        return []
    if b"lgsp-att-" not in d.raw and b"\\u" not in d.raw:  # the common case: no id, at the cost of a scan
        return []
    found = attachment_ids(d.raw)
    deliveries = (d.sharing or {}).get("deliveries", {})
    made: list[Reference] = []
    for target in d.targets:
        terms = deliveries.get(target)
        ids = found if terms is None else _projected_ids(d.raw, terms["fields"])
        made.extend((attachment_id, d.message_id, target, d.source) for attachment_id in sorted(ids))
    return made


def attachment_ids(raw: bytes) -> set[str]:
    """The attachment ids among the strings of a JSON message."""
    if b"\\u" in raw:  # escaped characters could spell an id: read the message properly
        return _walked(parsed(raw))
    return ids_in_bytes(raw)


def _projected_ids(raw: bytes, fields: list[str]) -> set[str]:
    try:
        return attachment_ids(projected(raw, Projection(fields)))
    except (ValueError, TypeError, KeyError):  # routing found it valid: never expected
        return set()


def _walked(node: Any) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found |= ids_in_text(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found
