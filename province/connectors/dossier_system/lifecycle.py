"""A planned dossier as the messages the dossier system publishes over its life, in time order.

Accepted: submitted (2) → 4 processing → [5 supplement requested → 4 resumed]… → 9 finished →
10 returned, then `dossier.completed`. Refused (verification failed, or papers refused at reception):
submitted (1) → 3 not accepted, then `dossier.completed` with status 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from province.traffic import PlannedDossier

RETURN_DELAY = timedelta(hours=2)  # the result reaches the citizen after processing ends


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime
    type: str
    payload: dict[str, Any]


def _ts(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


def submitted(plan: PlannedDossier, applicant: dict[str, Any], status: int) -> dict[str, Any]:
    procedure = plan.procedure
    return {
        "MaHoSo": plan.code, "MaTTHC": procedure.code, "TenTTHC": procedure.name,
        "MaLinhVuc": procedure.field_code, "TenLinhVuc": procedure.field_name, "ChuHoSo": applicant,
        "LoaiDoiTuong": int(plan.applicant), "NgayTiepNhan": _ts(plan.received_at), "NgayHenTra": _ts(plan.due_at),
        "DonViXuLy": plan.agency, "KenhThucHien": int(plan.channel), "MucDo": procedure.level,
        "TrangThaiHoSo": status,
    }


def _status(plan: PlannedDossier, status: int, at: datetime, note: str | None = None) -> Event:
    payload = {"MaHoSo": plan.code, "TrangThaiHoSo": status, "ThoiDiem": _ts(at), "DonViXuLy": plan.agency}
    if note:
        payload["GhiChu"] = note
    return Event(at, "dossier.status_changed", payload)


def _completed(plan: PlannedDossier, status: int, finished: datetime, returned: datetime | None) -> Event:
    payload = {
        "MaHoSo": plan.code, "TrangThaiHoSo": status, "DonViXuLy": plan.agency,
        "NgayTiepNhan": _ts(plan.received_at), "NgayHenTra": _ts(plan.due_at), "NgayKetThucXuLy": _ts(finished),
        "SoNgayBoSung": round(plan.supplement_days, 3), "SoLanBoSung": len(plan.supplements),
        "KetQuaKySo": plan.signed and status != 3,
    }
    if returned:
        payload["NgayTra"] = _ts(returned)
    return Event(returned or finished, "dossier.completed", payload)


def refusal(plan: PlannedDossier, reason: str) -> list[Event]:
    finished = max(plan.finished_at, plan.received_at)
    return [_status(plan, 3, finished, reason), _completed(plan, 3, finished, None)]


def processing(plan: PlannedDossier) -> list[Event]:
    events = [_status(plan, 4, plan.received_at)]
    for supplement in plan.supplements:
        events.append(_status(plan, 5, supplement.requested_at, "Yêu cầu bổ sung hồ sơ"))
        events.append(_status(plan, 4, supplement.returned_at, "Công dân đã bổ sung"))
    returned = plan.finished_at + RETURN_DELAY
    events += [_status(plan, 9, plan.finished_at), _status(plan, 10, returned),
               _completed(plan, 10, plan.finished_at, returned)]
    return events
