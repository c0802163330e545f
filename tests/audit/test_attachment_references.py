"""Which attachments a delivered message referenced: ids anywhere in its strings, escaped or not; to each
target the ids its projection kept; none from a message that was not delivered."""

from __future__ import annotations

import orjson

from hub.audit.attachment_references import attachment_ids, references
from hub.audit.decisions import Decision
from hub.core.attachments import is_id, new_id
from hub.core.personal_id import mask_text

A, B = new_id(), new_id()
MESSAGE = "00000000-0000-7000-8000-000000000001"


def decision(payload: dict, targets: tuple[str, ...] = ("ndxp",), outcome: str = "delivered",
             sharing: dict | None = None) -> Decision:
    raw = orjson.dumps({"id": MESSAGE, "source": "mot-cua", "payload": payload})
    return Decision(MESSAGE, "document.sent", 1, "mot-cua", targets, outcome, None, None, None, None, None, 0.0,
                    sharing=sharing, raw=raw)


def test_ids_are_found_in_any_string_and_through_escapes():
    assert attachment_ids(orjson.dumps({"a": [A, {"b": f"see {B}."}], "c": "lgsp-att-short"})) == {A, B}
    escaped = orjson.dumps({"a": A}).replace(b"lgsp", b"\\u006cgsp")
    assert attachment_ids(escaped) == {A}
    assert attachment_ids(b'{"a": "LGSP-ATT-' + A[9:].upper().encode() + b'"}') == set()  # lowercase only


def test_each_target_is_granted_what_it_received():
    sharing = {"deliveries": {"ndxp": {"agreement": "x", "version": 1, "fields": ["/Kept"]}}, "withheld": {}}
    made = references(decision({"Kept": A, "Cut": B}, ("ndxp", "so-tu-phap"), sharing=sharing))
    assert sorted(made) == sorted([(A, MESSAGE, "ndxp", "mot-cua"), (A, MESSAGE, "so-tu-phap", "mot-cua"),
                                   (B, MESSAGE, "so-tu-phap", "mot-cua")])
    assert references(decision({"a": A}, outcome="rejected")) == []
    assert references(decision({"a": "nothing"})) == []


def test_ids_never_hold_a_run_the_hub_would_mask():
    ids = [new_id() for _ in range(2000)]
    assert all(is_id(i) and mask_text(i) == i for i in ids) and len(set(ids)) == len(ids)
