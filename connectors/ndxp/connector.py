"""The national data-exchange platform stub (NDXP): takes dossier sync, answers with receipts.

It stores the latest national record of each dossier, answers every event with one `ndxp.receipt`
(duplicates are dropped by envelope id before they reach it), and goes down during the scenario's
outage windows like a remote system would: its messages wait in its inbox until it returns.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timezone
from typing import Any

from connectors.ndxp.national import to_national
from hub.clock import SimClock
from hub.scenario import Outage
from hub.sdk import Connector, Message

ID = "ndxp"
DOSSIER_TYPES = ("dossier.submitted", "dossier.status_changed", "dossier.completed")


class NationalPlatform:
    def __init__(self) -> None:
        self.dossiers: dict[str, dict[str, Any]] = {}  # MaHoSo → latest national record
        self.events: dict[str, str] = {}  # envelope id → type, each event synced once
        self.refused = 0
        self._transactions = itertools.count(1)
        self.connector = Connector(ID, name="Nền tảng tích hợp, chia sẻ dữ liệu quốc gia (NDXP)",
                                   agency="Văn phòng Chính phủ", level="national", produces=["ndxp.receipt"])
        for type in DOSSIER_TYPES:
            self.connector.on(type)(self._sync)

    async def _sync(self, message: Message) -> None:
        envelope = message.envelope
        record, problems = to_national(envelope.type, message.payload)
        if not problems:
            self.dossiers[record["MaHoSo"]] = {**self.dossiers.get(record["MaHoSo"], {}), **record}
        else:
            self.refused += 1
        self.events[str(envelope.id)] = envelope.type
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

    async def follow_outages(self, clock: SimClock, outages: list[Outage], first_day: Any) -> None:
        """Go down and come back at the scenario's outage windows."""
        for outage in sorted((o for o in outages if o.connector == ID), key=lambda o: o.window(first_day)):
            start, end = outage.window(first_day)
            await clock.sleep_until(start)
            self.connector.reachable = False
            await clock.sleep_until(end)
            self.connector.reachable = True
        await asyncio.sleep(0)
