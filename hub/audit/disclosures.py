"""A citizen's disclosures: every delivery of a message that carried their personal ID, with who received
it, which fields, and under which agreement, purpose and legal basis (Decree 13/2023/NĐ-CP, the data
subject's right to know how their data was processed).

Read from the message log: the ID is looked up through its keyed hash (hub.audit.content), never stored in
clear; each record's `sharing` says what agreement each target received it under (hub.audit.decisions).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

import orjson

WHOLE = None  # fields of a delivery under the type-level grant alone: the whole message


def disclosures(records: Iterable[Mapping[str, Any]], connectors: Mapping[str, Any],
                agreement_at: Callable[[str, int], Mapping[str, Any] | None]) -> list[dict[str, Any]]:
    """One row per delivery, newest first. `records`: the message log's records that carried the ID;
    `connectors`: id → ConnectorSpec; `agreement_at(id, version)`: that version of an agreement."""
    rows = []
    for record in records:
        if record["outcome"] != "delivered":
            continue
        targets = record["targets"] if isinstance(record["targets"], list) else orjson.loads(record["targets"])
        sharing = orjson.loads(record["sharing"]) if record.get("sharing") else {}
        for target in targets:
            rows.append(_row(record, target, (sharing.get("deliveries") or {}).get(target), connectors, agreement_at))
    return sorted(rows, key=lambda row: row["at"], reverse=True)


def _row(record: Mapping[str, Any], target: str, terms: Mapping[str, Any] | None, connectors: Mapping[str, Any],
         agreement_at: Callable[[str, int], Mapping[str, Any] | None]) -> dict[str, Any]:
    spec = connectors.get(target)
    agreement = agreement_at(terms["agreement"], terms["version"]) if terms else None
    return {
        "at": datetime.fromtimestamp(record["routed_at"], timezone.utc).isoformat(timespec="seconds"),
        "message_id": record["message_id"], "type": record["type"], "source": record["source"],
        "consumer": target,
        "agency": spec.agency if spec else None, "system": spec.name if spec else None,
        "fields": list(terms["fields"]) if terms else WHOLE,
        "agreement": None if terms is None else {
            "id": terms["agreement"], "version": terms["version"],
            "purpose": agreement["purpose"] if agreement else None,
            "legal_basis": agreement["legal_basis"] if agreement else None},
    }
