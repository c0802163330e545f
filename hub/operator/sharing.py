"""Data-sharing agreements per connector as the dashboard shows them, decided here so that no page
recomputes a rule: each agreement's state, the deliveries withheld from each consumer, the display order.

A connector has a row when it is a party to an agreement or deliveries were withheld from it; the rows with
deliveries withheld come first (most first), then those with an agreement in force. Only ids, types and
purpose codes: no personal data, public like the other counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from hub.core.agreements import Agreement
from hub.core.directory import ConnectorSpec


def state(agreement: Agreement, now: float) -> str:
    """in_force; or why not: ended (by the operator), expired (past valid_to), pending (before valid_from)."""
    if agreement.in_force(now):
        return "in_force"
    if agreement.ended_at is not None and agreement.ended_at.timestamp() <= now:
        return "ended"
    return "pending" if now < agreement.valid_from.timestamp() else "expired"


def _party(agreement: Agreement, role: str, now: float) -> dict[str, Any]:
    counterpart = agreement.provider if role == "consumer" else agreement.consumer
    return {"id": agreement.id, "role": role, "counterpart": counterpart, "types": list(agreement.types),
            "purpose": agreement.purpose.code, "state": state(agreement, now), "in_force": agreement.in_force(now)}


def _withheld_by_consumer(withheld: Mapping[tuple[str, str], int]) -> dict[str, Counter[str]]:
    by_consumer: dict[str, Counter[str]] = {}
    for (consumer, type), count in withheld.items():
        by_consumer.setdefault(consumer, Counter())[type] += count
    return by_consumer


def _row(connector: str, spec: ConnectorSpec | None, parts: list[dict[str, Any]],
         types: Counter[str]) -> dict[str, Any]:
    parts = sorted(parts, key=lambda part: (part["id"], part["role"]))
    total = sum(types.values())
    return {"id": connector, "name": spec.name if spec else None, "agency": spec.agency if spec else None,
            "in_force": [part for part in parts if part["in_force"]],
            "not_in_force": [part for part in parts if not part["in_force"]],
            "withheld": total, "withheld_by_type": [{"type": t, "count": n} for t, n in types.most_common()],
            "alert": total > 0}


def sharing_shown(connectors: Mapping[str, ConnectorSpec], agreements: Iterable[Agreement],
                  withheld: Mapping[tuple[str, str], int], now: float) -> dict[str, Any]:
    """Per connector its agreements (as consumer and as provider) in force and not, and the deliveries
    withheld from it; `withheld` counts per (consumer, type), as the routing watch keeps them."""
    agreements = list(agreements)
    parts: dict[str, list[dict[str, Any]]] = {}
    for agreement in agreements:
        parts.setdefault(agreement.consumer, []).append(_party(agreement, "consumer", now))
        parts.setdefault(agreement.provider, []).append(_party(agreement, "provider", now))
    by_consumer = _withheld_by_consumer(withheld)
    rows = [_row(cid, connectors.get(cid), parts.get(cid, []), by_consumer.get(cid, Counter()))
            for cid in parts.keys() | by_consumer.keys()]
    rows.sort(key=lambda row: (-row["withheld"], not row["in_force"], row["id"]))
    in_force = sum(agreement.in_force(now) for agreement in agreements)
    return {"connectors": rows, "in_force": in_force, "not_in_force": len(agreements) - in_force,
            "withheld": sum(row["withheld"] for row in rows)}
