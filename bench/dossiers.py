"""The traffic every bench routes: a sender (`mot-cua`) and a receiver (`ndxp`), and dossier.submitted
envelopes between them, built before any clock starts."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson

from hub.core import personal_id
from hub.core.agreements import Agreement
from hub.core.credentials import Credential
from hub.core.envelope import encode
from hub.core.ids import uuid7
from hub.store import Store
from hub.testing.samples import dossier_submitted

SENDER, RECEIVER = "mot-cua", "ndxp"
CONNECTORS = [
    {"id": SENDER, "name": "Một cửa điện tử", "agency": "000.00.01.H22", "produces": ["dossier.submitted"]},
    {"id": RECEIVER, "name": "NDXP", "agency": "national", "level": "national", "consumes": ["dossier.submitted"]},
]
Message = tuple[bytes, bytes, list[tuple[str, bytes]]]  # key, value, headers
SINCE = datetime(2020, 1, 1, tzinfo=timezone.utc)
AGREEMENT = Agreement(  # the receiver gets 4 of the payload's 13 members (one of them nested), not all of it
    id="bench-dossiers", version=1, provider=SENDER, consumer=RECEIVER, types=["dossier.submitted"],
    fields=["/MaHoSo", "/MaTTHC", "/ChuHoSo/SoDinhDanh", "/TrangThaiHoSo"],
    purpose={"code": "BENCH", "text": "What projection and re-signing cost"},
    legal_basis="Nghị định 47/2020/NĐ-CP, Điều 15", valid_from=SINCE, changed_at=SINCE, changed_by="bench")


def make_messages(n: int) -> list[Message]:
    """(key, value) of n dossier.submitted envelopes to subscribers (no target), each with its own
    personal ID so that no cache in the validation path can flatter the figures."""
    messages = []
    for i in range(n):
        envelope = dossier_submitted(counter=i)
        owner = {**envelope.payload["ChuHoSo"], "SoDinhDanh": personal_id.make("052", 1990, True, i)}
        envelope = envelope.model_copy(update={"payload": {**envelope.payload, "ChuHoSo": owner}})
        messages.append((envelope.key.encode(), encode(envelope), []))
    return messages


def renewed(messages: list[Message]) -> list[Message]:
    """The messages with fresh envelope ids: sent again with their old ids, the router refuses them as replays."""
    out = []
    for key, value, headers in messages:
        old = orjson.loads(value)["id"].encode()
        out.append((key, value.replace(old, str(uuid7()).encode(), 1), headers))
    return out


def signed(messages: list[Message], credential: Credential) -> list[Message]:
    return [(key, value, credential.headers(value)) for key, value, _ in messages]


def register(store: Store, credential_row: dict[str, Any] | None, agreed: bool = False) -> None:
    """The sender and receiver in `store`, the sender's credential if it signs, and AGREEMENT if `agreed`."""
    for spec in CONNECTORS:
        store.put_connector(spec["id"], spec)
    if credential_row is not None:
        store.add_credential(credential_row, None)
    if agreed:
        store.put_agreement(AGREEMENT.model_dump(mode="json"), "created", "bench", SINCE, None)
