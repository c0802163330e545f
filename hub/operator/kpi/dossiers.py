"""Dossier indicators (chỉ số hồ sơ thủ tục hành chính) from the `dossier.*` messages the hub routes.

Pure logic, no I/O. `DossierIndicators.observe` takes the payloads of `dossier.submitted`,
`dossier.status_changed` and `dossier.completed` (field names of the national portal, dates ISO 8601
with offset; a date without offset is read as Asia/Ho_Chi_Minh); `report` and `late` read the result.

Rules
- Received: dossiers with a `dossier.submitted`, counted once per MaHoSo, on the Asia/Ho_Chi_Minh day of
  NgayTiepNhan. Online: KenhThucHien == 2. Online share = online / received, target `online_dossiers`
  of the inventory (default 0.30, "≥30%").
- Completed: dossiers with a `dossier.completed` (statuses 3 refused, 7 withdrawn, 8 stopped, 9 finished,
  10 returned — all judged by the same rule), counted once per MaHoSo, on the day of NgayKetThucXuLy.
- On time when NgayKetThucXuLy − supplement time ≤ NgayHenTra (NgayHenTra of the completed event);
  otherwise late. More than one supplement request is late whatever the dates (the rule: hub.core.deadlines).
- Supplement time is the hub's own: from each status 5 (supplement requested) to the dossier's next status
  change (or to NgayKetThucXuLy if it ends while waiting). Supplement requests = the status-5 events seen.
  Only when no status change of the dossier was seen does the hub take the completed event's SoNgayBoSung
  (days) and SoLanBoSung instead.
- Open: received and not completed. At `as_of` (default: the latest time read in any event) an open
  dossier is late (open_late) when as_of − supplement time so far > its NgayHenTra (the submitted one,
  or the latest a status change moved it to), or when supplements were requested more than once.
  Open-late dossiers are counted apart from `late` (which counts completed dossiers only) and listed by
  `late()`. Counts cover every event observed; `as_of` only sets the day open dossiers are measured at.
- Signed share: of the completed with TrangThaiHoSo 9 or 10 (results; refusals have none), those whose
  KetQuaKySo is true. Target `signed_results` (default 1.0, "100%").
- Shares are floats in 0..1, or None when the denominator is 0; a target is met when share ≥ target.

Idempotence: re-delivered messages count once. Per dossier, the first submitted and the first completed
count; status changes are de-duplicated by message id while the dossier is open; once completed, a
dossier is folded into its day's and its agency's counters and its later events are ignored (Kafka keeps
one dossier's events in order, so they can only be re-deliveries, which come soon after).

Memory is bounded by what is open, not by what went through: a record per open dossier; the codes of the
`completed_window` dossiers completed last (a re-delivery older than that would count again, as in the
SDK's window of message ids); per agency, the `late_kept` completed late dossiers most days late (the
head of `late()`, which lists the most days late first; the agency's late count stays exact); and a tally
per simulated day.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Any

from hub.core import deadlines
from hub.core.clock import VN_TZ
from hub.core.deadlines import DAY_SECONDS
from hub.core.inventory import Inventory
from hub.operator.kpi.targets import reached

ONLINE = 2  # KenhThucHien: 1 at the counter, 2 online, 3 by public post
SUPPLEMENT_REQUESTED = 5  # TrangThaiHoSo
RESULT_STATUSES = frozenset({9, 10})  # processing finished, result returned: the dossier has a result
DEFAULT_ONLINE_TARGET = 0.30
DEFAULT_SIGNED_TARGET = 1.0
COMPLETED_WINDOW = 10_000  # completed dossiers whose re-delivered events are still recognised: more than
# an inbox re-delivers after a crash (its uncommitted tail: at most 2,000 records queued a partition)
LATE_KEPT = 500  # completed late dossiers listed per agency, the most days late
# The payload members the indicators read, of every dossier.* type: what a data-sharing agreement lets the
# KPI subscriber receive (no applicant, so no name and no personal ID).
INDICATOR_FIELDS = ("/MaHoSo", "/MaTTHC", "/DonViXuLy", "/KenhThucHien", "/NgayTiepNhan", "/NgayHenTra",
                    "/TrangThaiHoSo", "/ThoiDiem", "/NgayKetThucXuLy", "/NgayTra", "/SoNgayBoSung", "/SoLanBoSung",
                    "/KetQuaKySo")


def _moment(text: str) -> datetime:
    when = datetime.fromisoformat(text)
    return when if when.tzinfo is not None else when.replace(tzinfo=VN_TZ)


def _day(text: str, when: datetime) -> str:
    """The Asia/Ho_Chi_Minh date, without a time-zone conversion when the offset already is +07:00."""
    if text.endswith("+07:00"):
        return text[:10]
    return when.astimezone(VN_TZ).date().isoformat()


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


class _Dossier:
    """What the hub knows of one open dossier."""

    __slots__ = ("agency", "due", "due_text", "message_ids", "procedure", "received", "status",
                 "status_seen", "supplement_seconds", "supplement_since", "supplements")

    def __init__(self) -> None:
        self.received = False
        self.procedure: str | None = None
        self.agency: str | None = None
        self.due: datetime | None = None
        self.due_text: str | None = None
        self.status: int | None = None
        self.status_seen = False
        self.message_ids: set[str] | None = None
        self.supplement_since: datetime | None = None
        self.supplement_seconds = 0.0
        self.supplements = 0

    def supplement_seconds_at(self, when: datetime) -> float:
        waiting = self.supplement_since
        return self.supplement_seconds + (max(0.0, (when - waiting).total_seconds()) if waiting else 0.0)


class _DayTally:
    __slots__ = ("completed", "late", "on_time", "online", "received", "results", "signed")

    def __init__(self) -> None:
        self.received = self.online = self.completed = self.on_time = self.late = self.results = self.signed = 0


def _most_late_first(row: dict[str, Any]) -> tuple[float, str]:
    return -row["days_late"], row["MaHoSo"]


class _AgencyTally:
    __slots__ = ("completed", "late", "late_rows")

    def __init__(self) -> None:
        self.completed = self.late = 0
        self.late_rows: list[dict[str, Any]] = []

    def add_late(self, row: dict[str, Any], kept: int) -> None:
        """Keep the `kept` most days late; trimmed at twice that, so a trim is rare."""
        self.late_rows.append(row)
        if len(self.late_rows) >= 2 * kept:
            self.late_rows = sorted(self.late_rows, key=_most_late_first)[:kept]

    def late_listed(self, kept: int) -> list[dict[str, Any]]:
        return sorted(list(self.late_rows), key=_most_late_first)[:kept]


class DossierIndicators:
    """Received, online, on time / late and signed-result indicators, overall, per day and per agency."""

    def __init__(self, inventory: Inventory | None = None, completed_window: int = COMPLETED_WINDOW,
                 late_kept: int = LATE_KEPT) -> None:
        self.use(inventory)
        self.completed_window, self.late_kept = completed_window, late_kept
        self._dossiers: dict[str, _Dossier] = {}  # seen and not completed (received, or status changes only)
        self._open: dict[str, _Dossier] = {}  # of those, the received: the open dossiers
        self._recently_completed: OrderedDict[str, bool] = OrderedDict()  # the last completed → reception seen
        self._days: dict[str, _DayTally] = {}
        self._agencies: dict[str, _AgencyTally] = {}
        self._latest: datetime | None = None
        self._handlers = {
            "dossier.submitted": self._submitted,
            "dossier.status_changed": self._status_changed,
            "dossier.completed": self._completed,
        }

    def use(self, inventory: Inventory | None) -> None:
        """Targets and agency names from the province's inventory (the plans' defaults without one)."""
        targets = inventory.province.targets if inventory is not None else None
        online = getattr(targets, "online_dossiers", None)
        signed = getattr(targets, "signed_results", None)
        self.online_target: float = DEFAULT_ONLINE_TARGET if online is None else online
        self.signed_target: float = DEFAULT_SIGNED_TARGET if signed is None else signed
        self.agency_names: dict[str, str] = {a.code: a.name for a in inventory.agencies} if inventory else {}

    # --- ingest ---------------------------------------------------------------------------------

    def observe(self, type: str, payload: dict[str, Any], message_id: str) -> None:
        """Take one message; other types are ignored, a message id already applied counts once."""
        handler = self._handlers.get(type)
        if handler is not None:
            handler(payload, message_id)

    def _seen(self, when: datetime) -> None:
        if self._latest is None or when > self._latest:
            self._latest = when

    def _day_tally(self, day: str) -> _DayTally:
        tally = self._days.get(day)
        if tally is None:
            tally = self._days[day] = _DayTally()
        return tally

    def _submitted(self, payload: dict[str, Any], message_id: str) -> None:
        if not self._first_reception(payload):
            return
        text = payload["NgayTiepNhan"]
        received = _moment(text)
        self._seen(received)
        tally = self._day_tally(_day(text, received))
        tally.received += 1
        if payload.get("KenhThucHien") == ONLINE:
            tally.online += 1

    def _first_reception(self, payload: dict[str, Any]) -> bool:
        """Whether this reception counts (the dossier's first); an open dossier gets its record."""
        code = payload["MaHoSo"]
        if code in self._recently_completed:  # its completion came first: the reception still counts, once
            first, self._recently_completed[code] = not self._recently_completed[code], True
            return first
        dossier = self._dossiers.get(code)
        if dossier is None:
            dossier = self._dossiers[code] = _Dossier()
        if dossier.received:
            return False
        self._receive(dossier, payload)
        self._open[code] = dossier
        return True

    @staticmethod
    def _receive(dossier: _Dossier, payload: dict[str, Any]) -> None:
        dossier.received = True
        dossier.procedure = payload.get("MaTTHC")
        dossier.agency = dossier.agency or payload["DonViXuLy"]
        if dossier.due is None:
            dossier.due_text = payload["NgayHenTra"]
            dossier.due = _moment(dossier.due_text)
        if dossier.status is None:
            dossier.status = payload.get("TrangThaiHoSo")

    def _status_changed(self, payload: dict[str, Any], message_id: str) -> None:
        code = payload["MaHoSo"]
        if code in self._recently_completed:
            return
        dossier = self._dossiers.get(code)
        if dossier is None:
            dossier = self._dossiers[code] = _Dossier()
        if dossier.message_ids is None:
            dossier.message_ids = {message_id}
        elif message_id in dossier.message_ids:
            return
        else:
            dossier.message_ids.add(message_id)
        at = _moment(payload["ThoiDiem"])
        self._seen(at)
        dossier.status_seen = True
        if dossier.supplement_since is not None:  # the citizen's time ends at the next status change
            dossier.supplement_seconds += max(0.0, (at - dossier.supplement_since).total_seconds())
            dossier.supplement_since = None
        status = payload["TrangThaiHoSo"]
        if status == SUPPLEMENT_REQUESTED:
            dossier.supplement_since = at
            dossier.supplements += 1
        dossier.status = status
        dossier.agency = payload.get("DonViXuLy") or dossier.agency
        if "NgayHenTra" in payload:
            dossier.due_text = payload["NgayHenTra"]
            dossier.due = _moment(dossier.due_text)

    def _completed(self, payload: dict[str, Any], message_id: str) -> None:
        code = payload["MaHoSo"]
        if code in self._recently_completed:
            return
        dossier = self._dossiers.pop(code, None)
        self._open.pop(code, None)
        self._remember_completed(code, dossier is not None and dossier.received)
        ended_text = payload["NgayKetThucXuLy"]
        ended = _moment(ended_text)
        self._seen(ended)
        if "NgayTra" in payload:
            self._seen(_moment(payload["NgayTra"]))
        if dossier is not None and dossier.status_seen:
            supplement_seconds, supplements = dossier.supplement_seconds_at(ended), dossier.supplements
        else:
            supplement_seconds = float(payload.get("SoNgayBoSung") or 0) * DAY_SECONDS
            supplements = int(payload.get("SoLanBoSung") or 0)
        overdue = deadlines.overdue_seconds(ended, _moment(payload["NgayHenTra"]), supplement_seconds)
        late = deadlines.late(overdue, supplements)
        status = payload["TrangThaiHoSo"]

        tally = self._day_tally(_day(ended_text, ended))
        tally.completed += 1
        if late:
            tally.late += 1
        else:
            tally.on_time += 1
        if status in RESULT_STATUSES:
            tally.results += 1
            if payload.get("KetQuaKySo") is True:
                tally.signed += 1
        agency = payload["DonViXuLy"]
        by_agency = self._agencies.get(agency)
        if by_agency is None:
            by_agency = self._agencies[agency] = _AgencyTally()
        by_agency.completed += 1
        if late:
            by_agency.late += 1
            by_agency.add_late({
                "MaHoSo": code, "MaTTHC": dossier.procedure if dossier else None, "DonViXuLy": agency,
                "NgayHenTra": payload["NgayHenTra"], "NgayKetThucXuLy": ended_text,
                "days_late": round(max(0.0, overdue) / DAY_SECONDS, 2), "supplements": supplements,
                "status": status,
            }, self.late_kept)

    def _remember_completed(self, code: str, received: bool) -> None:
        self._recently_completed[code] = received
        if len(self._recently_completed) > self.completed_window:
            self._recently_completed.popitem(last=False)

    # --- read -----------------------------------------------------------------------------------

    def held(self) -> dict[str, int]:
        """The records held, by kind: bounded by what is open and by the settings, not by the traffic."""
        return {"open": len(self._dossiers), "completed_remembered": len(self._recently_completed),
                "late_listed": sum(len(tally.late_rows) for tally in list(self._agencies.values()))}

    def _as_of(self, as_of: datetime | None) -> datetime | None:
        if as_of is None:
            return self._latest.astimezone(VN_TZ) if self._latest is not None else None
        if as_of.tzinfo is None or as_of.utcoffset() is None:
            raise ValueError(f"as_of must be timezone-aware, got naive {as_of.isoformat()}")
        return as_of.astimezone(VN_TZ)

    def _open_late(self, as_of: datetime | None) -> tuple[int, list[tuple[str, _Dossier, float]]]:
        """Open dossiers (a snapshot: `report` may run in a thread while `observe` goes on) and the late ones."""
        dossiers = list(self._open.items())
        late = []
        if as_of is not None:
            for code, dossier in dossiers:
                if dossier.due is None:
                    continue
                overdue = deadlines.overdue_seconds(as_of, dossier.due, dossier.supplement_seconds_at(as_of))
                if deadlines.late(overdue, dossier.supplements):
                    late.append((code, dossier, overdue))
        return len(dossiers), late

    def report(self, as_of: datetime | None = None) -> dict[str, Any]:
        """Cumulative, per-day and per-agency indicators; open dossiers measured at `as_of`."""
        as_of = self._as_of(as_of)
        open_count, open_late = self._open_late(as_of)
        daily, total = [], _DayTally()
        for day, t in sorted(list(self._days.items())):
            for name in _DayTally.__slots__:
                setattr(total, name, getattr(total, name) + getattr(t, name))
            daily.append({
                "day": day, "received": t.received, "online": t.online, "online_share": _share(t.online, t.received),
                "completed": t.completed, "on_time": t.on_time, "late": t.late,
                "late_share": _share(t.late, t.completed), "results": t.results, "signed": t.signed,
                "signed_share": _share(t.signed, t.results),
            })
        online_share, signed_share = _share(total.online, total.received), _share(total.signed, total.results)
        cumulative = {
            "received": total.received, "online": total.online, "online_share": online_share,
            "online_target": self.online_target, "online_met": reached(online_share, self.online_target),
            "completed": total.completed, "on_time": total.on_time, "late": total.late,
            "late_share": _share(total.late, total.completed), "open": open_count, "open_late": len(open_late),
            "results": total.results, "signed": total.signed, "signed_share": signed_share,
            "signed_target": self.signed_target, "signed_met": reached(signed_share, self.signed_target),
        }
        return {"as_of": as_of.isoformat() if as_of else None, "cumulative": cumulative, "daily": daily,
                "late_by_agency": self._late_by_agency(open_late)}

    def _late_by_agency(self, open_late: list[tuple[str, _Dossier, float]]) -> list[dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {}

        def row(agency: str) -> dict[str, Any]:
            if agency not in rows:
                rows[agency] = {"agency": agency, "name": self.agency_names.get(agency), "completed": 0,
                                "late": 0, "late_share": None, "open_late": 0}
            return rows[agency]

        for agency, tally in list(self._agencies.items()):
            r = row(agency)
            r["completed"], r["late"] = tally.completed, tally.late
            r["late_share"] = _share(tally.late, tally.completed)
        for _, dossier, _ in open_late:
            row(dossier.agency or "")["open_late"] += 1
        return sorted(rows.values(), key=lambda r: (-r["late"], -r["open_late"], r["agency"]))

    def _late_completed(self, agency: str | None) -> list[dict[str, Any]]:
        """The `late_kept` completed late dossiers most days late: each agency holds at least its own."""
        rows = [row for code, tally in list(self._agencies.items()) if agency is None or code == agency
                for row in tally.late_listed(self.late_kept)]
        return sorted(rows, key=_most_late_first)[:self.late_kept]

    def late(self, agency: str | None = None, as_of: datetime | None = None) -> dict[str, Any]:
        """Late dossiers, completed and still open at `as_of`, of one agency or all, most days late first."""
        as_of = self._as_of(as_of)
        dossiers = [dict(row) for row in self._late_completed(agency)]
        for code, dossier, overdue in self._open_late(as_of)[1]:
            if agency is None or dossier.agency == agency:
                dossiers.append({
                    "MaHoSo": code, "MaTTHC": dossier.procedure, "DonViXuLy": dossier.agency,
                    "NgayHenTra": dossier.due_text, "NgayKetThucXuLy": None,
                    "days_late": round(max(0.0, overdue) / DAY_SECONDS, 2), "supplements": dossier.supplements,
                    "status": dossier.status,
                })
        dossiers.sort(key=lambda d: (-d["days_late"], d["MaHoSo"]))
        return {"agency": agency, "as_of": as_of.isoformat() if as_of else None, "dossiers": dossiers}
