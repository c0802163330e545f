"""The national data-exchange platform stub (NDXP): takes dossier sync, answers with receipts.

It stores the latest national record of each open dossier (a completed one is final and leaves the stub)
and answers every event with one `ndxp.receipt` (duplicates are dropped by envelope id before they reach
it). With `keep_records` it also keeps every event's id and each dossier's completion, for tests and
benches; otherwise it only counts them, so an endless run holds no more than its open dossiers.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timezone
from typing import Any

from hub.core.deadlines import DOSSIER_TYPES
from hub.sdk import Connector, Message
from province.connectors.ndxp.national import to_national

ID = "ndxp"


class NationalPlatform:
    def __init__(self, keep_records: bool = False) -> None:
        self.keep_records = keep_records
        self.dossiers: dict[str, dict[str, Any]] = {}  # MaHoSo → latest national record, while open
        self.events: dict[str, str] = {}  # envelope id → type, each event synced once (kept records only)
        self.completions: dict[str, dict[str, Any]] = {}  # MaHoSo → its dossier.completed (kept records only)
        self.synced = self.refused = 0
        self._transactions = itertools.count(1)
        self.connector = Connector(ID, name="Nền tảng tích hợp, chia sẻ dữ liệu quốc gia (NDXP)",
                                   agency="Văn phòng Chính phủ", level="national", produces=["ndxp.receipt"])
        for type in DOSSIER_TYPES:  # a sync answered with a receipt: a service, after APICapNhatDongBoHoSoDVC
            self.connector.serves(type, reply="ndxp.receipt", description=f"Sync one {type} event to the "
                                  "national platform; the receipt says whether it was accepted.")(self._sync)

    async def _sync(self, message: Message) -> None:
        envelope = message.envelope
        record, problems = to_national(envelope.type, message.payload)
        self._store(envelope.type, record, problems)
        self.synced += 1
        if self.keep_records:
            self.events[str(envelope.id)] = envelope.type
            if envelope.type == "dossier.completed":
                self.completions[message.payload["MaHoSo"]] = message.payload
        receipt = {
            "MaHoSo": message.payload["MaHoSo"],
            "MaGiaoDich": f"NDXP-{next(self._transactions):010d}",
            "MaThongDiep": str(envelope.id),
            "LoaiSuKien": envelope.type,
            "KetQua": "tu_choi" if problems else "thanh_cong",
            "ThoiDiemNhan": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        if problems:
            receipt["LyDo"] = "; ".join(problems)
        await self.connector.reply(message, "ndxp.receipt", receipt)

    def _store(self, type: str, record: dict[str, Any], problems: list[str]) -> None:
        if problems:
            self.refused += 1
        elif type == "dossier.completed":
            self.dossiers.pop(record["MaHoSo"], None)
        else:
            self.dossiers[record["MaHoSo"]] = {**self.dossiers.get(record["MaHoSo"], {}), **record}
