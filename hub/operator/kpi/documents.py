"""Document indicators (chỉ số văn bản điện tử) from the `document.*` messages the hub routes.

Pure logic, no I/O. `DocumentIndicators.observe` takes the payloads of `document.sent` and `document.status`
(the edXML fields of QCVN 102:2016: dates yyyy/MM/dd, times yyyy/MM/dd HH:mm:ss, both Asia/Ho_Chi_Minh);
`report` reads the result. The messages are targeted (one `document.sent` per receiving agency's
connector, each `document.status` back to the sender), so no subscriber sees them: the operator's view
takes them from the decisions topic, delivered ones only (hub.operator.routing_watch).

Rules
- Documents: `document.sent` with TraceHeaderList.Bussiness.BussinessDocType 0 (new), counted once per
  DocumentId (a document sent to three agencies is three messages, one document), in the month of
  PromulgationInfo.PromulgationDate and for its sender (From.OrganId). Electronic: Bussiness.Paper 0 (no paper
  copy travels). Electronic share = electronic / documents, overall, per sender and per month; target
  `electronic_documents` of the inventory (default 0.90, "trên 90%"), met when share ≥ target.
- Revocations (BussinessDocType 1) are counted apart (`revoked`), once per DocumentId; updates (2) and
  replacements (3) are no new documents: they only move the DueDate of a document still open.
- Processing: a document with a DueDate is expected to be processed by each receiving agency in To (the
  union of the To lists of its messages). A `document.status` from that agency (From.OrganId) about it
  (ResponseFor.DocumentId) closes it: "06" completed is processed, on time when the Timestamp's date ≤ DueDate,
  else late by the days between; "02" refused closes it, not processed. A revocation closes what is still
  open of its document, not processed. Other codes (01, 03, 04, 05) change nothing; a status from an agency
  not in To is ignored.
- Open at `as_of` (default: the latest time read in any event: TraceHeader and status Timestamps): an
  expectation not closed; open_late when as_of's date is after its DueDate.
- Shares are floats in 0..1, or None when the denominator is 0. Senders come lowest share first (those
  keeping the province from its target), receivers most late first, then most open late.

Idempotence: decisions may repeat (at-least-once), and one document comes in one message per receiver: a
document counts once per DocumentId, a closed expectation stays closed. A status read before its document
(another partition of the decisions topic) is kept, `early_kept` at most, and applied when it arrives.

Memory is bounded by what is open, not by what went through: a record per document with an expectation
open; the DocumentIds of the `closed_window` documents closed last (a repeat older than that would count
again, as in the SDK's window of message ids); the statuses waiting for their document; a tally per sender,
per receiver and per month.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import date, datetime
from typing import Any

from hub.core.clock import VN_TZ
from hub.core.inventory import Inventory
from hub.operator.kpi.targets import reached

SENT, STATUS = "document.sent", "document.status"
DOCUMENT_TYPES = (SENT, STATUS)
NEW, REVOCATION, UPDATE, REPLACEMENT = 0, 1, 2, 3  # Bussiness.BussinessDocType
ELECTRONIC_ONLY = 0  # Bussiness.Paper
REFUSED, COMPLETED = "02", "06"  # StatusCode
DEFAULT_TARGET = 0.90
CLOSED_WINDOW = 10_000  # closed documents whose repeats are still recognised, as dossiers.COMPLETED_WINDOW
EARLY_KEPT = 10_000  # closing statuses waiting for their document


def _date(text: str) -> date:
    """An edXML date, or the date of an edXML time: 'yyyy/MM/dd[ HH:mm:ss]'."""
    return date(int(text[0:4]), int(text[5:7]), int(text[8:10]))


def _moment(text: str) -> datetime:
    return datetime.strptime(text, "%Y/%m/%d %H:%M:%S").replace(tzinfo=VN_TZ)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


class _Document:
    """One document with a DueDate and a receiver yet to close it."""

    __slots__ = ("closed", "due", "open")

    def __init__(self, due: date) -> None:
        self.due = due
        self.open: set[str] = set()  # receivers expected to process it
        self.closed: set[str] = set()  # receivers that processed or refused it


class _Share:
    __slots__ = ("documents", "electronic")

    def __init__(self) -> None:
        self.documents = self.electronic = 0


class _Receiver:
    __slots__ = ("days_late", "days_late_max", "late", "on_time", "refused")

    def __init__(self) -> None:
        self.on_time = self.late = self.refused = self.days_late = self.days_late_max = 0


class DocumentIndicators:
    def __init__(self, inventory: Inventory | None = None, closed_window: int = CLOSED_WINDOW,
                 early_kept: int = EARLY_KEPT) -> None:
        self.use(inventory)
        self.closed_window, self.early_kept = closed_window, early_kept
        self._open: dict[str, _Document] = {}
        self._closed: OrderedDict[tuple[int, str], None] = OrderedDict()  # (BussinessDocType, DocumentId)
        self._early: OrderedDict[tuple[str, str], tuple[str, str]] = OrderedDict()  # (doc, agency) → code, time
        self._senders: dict[str, _Share] = {}
        self._months: dict[str, _Share] = {}
        self._receivers: dict[str, _Receiver] = {}
        self._revoked = 0
        self._latest: datetime | None = None

    def use(self, inventory: Inventory | None) -> None:
        """The target and agency names from the province's inventory (the plan's default without one)."""
        targets = inventory.province.targets if inventory is not None else None
        target = getattr(targets, "electronic_documents", None)
        self.target: float = DEFAULT_TARGET if target is None else target
        self.agency_names: dict[str, str] = {a.code: a.name for a in inventory.agencies} if inventory else {}

    # --- ingest ---------------------------------------------------------------------------------

    def observe(self, type: str, payload: dict[str, Any], message_id: str = "") -> None:
        """Take one delivered message; other types are ignored, repeats count once (by DocumentId)."""
        if type == SENT:
            self._sent(payload)
        elif type == STATUS:
            self._status(payload)

    def _seen(self, text: str) -> None:
        when = _moment(text)
        if self._latest is None or when > self._latest:
            self._latest = when

    def _sent(self, payload: dict[str, Any]) -> None:
        trace = payload["TraceHeaderList"]
        for header in trace["TraceHeader"]:
            self._seen(header["Timestamp"])
        kind, document = trace["Bussiness"]["BussinessDocType"], payload["DocumentId"]
        if kind in (UPDATE, REPLACEMENT):
            if document in self._open and "DueDate" in payload:
                self._open[document].due = _date(payload["DueDate"])
            return
        if (kind, document) in self._closed:
            return
        if kind == REVOCATION:
            self._revoke(document)
        elif kind == NEW:
            self._new(document, payload, trace["Bussiness"]["Paper"] == ELECTRONIC_ONLY)

    def _revoke(self, document: str) -> None:
        self._revoked += 1
        self._remember_closed(REVOCATION, document)
        if self._open.pop(document, None) is not None:  # nobody is to process a revoked document
            self._remember_closed(NEW, document)

    def _new(self, document: str, payload: dict[str, Any], electronic: bool) -> None:
        receivers = [organ["OrganId"] for organ in payload["To"]]
        record = self._open.get(document)
        if record is not None:  # another receiver's copy: its receivers are expected too
            record.open.update(r for r in receivers if r not in record.closed)
            return
        for share in (self._tally(self._senders, payload["From"]["OrganId"]),
                      self._tally(self._months, payload["PromulgationInfo"]["PromulgationDate"][:7].replace("/", "-"))):
            share.documents += 1
            share.electronic += electronic
        if "DueDate" not in payload or (REVOCATION, document) in self._closed:  # (its revocation read first)
            self._remember_closed(NEW, document)
            return
        record = self._open[document] = _Document(_date(payload["DueDate"]))
        record.open.update(receivers)
        for receiver in receivers:
            early = self._early.pop((document, receiver), None)
            if early is not None:
                self._close(document, record, receiver, *early)

    @staticmethod
    def _tally(tallies: dict[str, _Share], key: str) -> _Share:
        share = tallies.get(key)
        if share is None:
            share = tallies[key] = _Share()
        return share

    def _status(self, payload: dict[str, Any]) -> None:
        code, at = payload["StatusCode"], payload["Timestamp"]
        self._seen(at)
        if code not in (COMPLETED, REFUSED):
            return
        document, agency = payload["ResponseFor"]["DocumentId"], payload["From"]["OrganId"]
        record = self._open.get(document)
        if record is not None:
            self._close(document, record, agency, code, at)
        elif (NEW, document) not in self._closed:  # its document not read yet
            self._early[(document, agency)] = (code, at)
            if len(self._early) > self.early_kept:
                self._early.popitem(last=False)

    def _close(self, document: str, record: _Document, agency: str, code: str, at: str) -> None:
        if agency not in record.open:
            return
        record.open.discard(agency)
        record.closed.add(agency)
        receiver = self._receivers.get(agency)
        if receiver is None:
            receiver = self._receivers[agency] = _Receiver()
        if code == REFUSED:
            receiver.refused += 1
        else:
            days_late = (_date(at) - record.due).days
            if days_late > 0:
                receiver.late += 1
                receiver.days_late += days_late
                receiver.days_late_max = max(receiver.days_late_max, days_late)
            else:
                receiver.on_time += 1
        if not record.open:
            del self._open[document]
            self._remember_closed(NEW, document)

    def _remember_closed(self, kind: int, document: str) -> None:
        self._closed[(kind, document)] = None
        if len(self._closed) > self.closed_window:
            self._closed.popitem(last=False)

    # --- read -----------------------------------------------------------------------------------

    def held(self) -> dict[str, int]:
        """The records held, by kind: bounded by what is open and by the settings, not by the traffic."""
        return {"open": len(self._open), "closed_remembered": len(self._closed), "early": len(self._early)}

    def _as_of(self, as_of: datetime | None) -> datetime | None:
        if as_of is None:
            return self._latest
        if as_of.tzinfo is None or as_of.utcoffset() is None:
            raise ValueError(f"as_of must be timezone-aware, got naive {as_of.isoformat()}")
        return as_of.astimezone(VN_TZ)

    def _share_row(self, share: _Share) -> dict[str, Any]:
        electronic_share = _share(share.electronic, share.documents)
        return {"documents": share.documents, "electronic": share.electronic, "share": electronic_share,
                "met": reached(electronic_share, self.target)}

    def report(self, as_of: datetime | None = None) -> dict[str, Any]:
        """The electronic share (overall, per month, per sender) and processing per receiving agency, with
        open expectations measured at `as_of`."""
        as_of = self._as_of(as_of)
        total = _Share()
        for share in list(self._senders.values()):
            total.documents += share.documents
            total.electronic += share.electronic
        by_receiver = self._by_receiver(as_of.date() if as_of else None)
        overall = self._share_row(total)
        cumulative = {
            "documents": total.documents, "electronic": total.electronic, "electronic_share": overall["share"],
            "electronic_target": self.target, "electronic_met": overall["met"], "revoked": self._revoked,
            **{key: sum(row[key] for row in by_receiver) for key in
               ("processed", "on_time", "late", "refused", "open", "open_late")},
        }
        return {
            "as_of": as_of.isoformat() if as_of else None, "cumulative": cumulative,
            "monthly": [{"month": month, **self._share_row(share)} for month, share in sorted(self._months.items())],
            "by_sender": sorted(({"agency": agency, "name": self.agency_names.get(agency), **self._share_row(share)}
                                 for agency, share in list(self._senders.items())),
                                key=lambda row: (row["share"] is None, row["share"], row["agency"])),
            "late_by_agency": by_receiver,
        }

    def _by_receiver(self, today: date | None) -> list[dict[str, Any]]:
        """Per receiving agency, most late (closed, then open) first."""
        rows: dict[str, dict[str, Any]] = {}

        def row(agency: str) -> dict[str, Any]:
            if agency not in rows:
                rows[agency] = {"agency": agency, "name": self.agency_names.get(agency), "processed": 0,
                                "on_time": 0, "late": 0, "refused": 0, "days_late": 0, "days_late_max": 0,
                                "open": 0, "open_late": 0}
            return rows[agency]

        for agency, tally in list(self._receivers.items()):
            r = row(agency)
            r.update(processed=tally.on_time + tally.late, on_time=tally.on_time, late=tally.late,
                     refused=tally.refused, days_late=tally.days_late, days_late_max=tally.days_late_max)
        for record in list(self._open.values()):  # a snapshot: `report` may run in a thread
            overdue = today is not None and today > record.due
            for agency in list(record.open):
                r = row(agency)
                r["open"] += 1
                r["open_late"] += overdue
        return sorted(rows.values(), key=lambda r: (-r["late"], -r["open_late"], r["agency"]))
