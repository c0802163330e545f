"""Official documents between the province's agencies: what each e-office sends, and how each receiver handles it.

Pure planning on the scenario's `[documents]` and the seed; the e-office connectors (province.connectors.eoffice)
act it out on the simulated clock. The sender's side (`DocumentPlanner.day`) draws a working day's documents:
when, from which agency to which, with a DueDate or not, with a paper copy at the month's share, with a file
or not. The receiver's side (`handling`) draws what its office does with one: refuse it, or accept, assign,
work on and complete it some days later, so on time or late against the DueDate. Both are functions of the
seed and the document, so a run's documents and statuses are the same every time.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from hub.core.clock import VN_TZ
from province.scenario import Documents, Scenario
from province.traffic import WorkCalendar, poisson_times

TYPE_NAMES = ("Công văn", "Thông báo", "Báo cáo", "Tờ trình", "Kế hoạch", "Giấy mời")
SUBJECTS = ("V/v báo cáo tình hình thực hiện nhiệm vụ chuyển đổi số", "V/v góp ý dự thảo kế hoạch",
            "V/v cung cấp số liệu phục vụ báo cáo tháng", "V/v tổ chức hội nghị sơ kết",
            "V/v phối hợp giải quyết hồ sơ liên thông", "V/v rà soát danh mục dữ liệu dùng chung")
ARRIVED, REFUSED, ACCEPTED, ASSIGNED, IN_PROGRESS, COMPLETED = "01", "02", "03", "04", "05", "06"


@dataclass(frozen=True, slots=True)
class PlannedDocument:
    sender: str  # agency code
    recipients: tuple[str, ...]
    sent_at: datetime
    number: int  # CodeNumber: the sender's count of the year
    type_name: str
    subject: str
    paper: bool  # a paper copy travels too
    due: date | None
    attachment_size: int | None  # bytes of its file, when it has one

    @property
    def document_id(self) -> str:
        return f"{self.sender},{self.sent_at:%Y/%m/%d},{self.number}/{notation(self.sender)}"


@dataclass(frozen=True, slots=True)
class Step:
    code: str  # StatusCode
    at: datetime


def notation(agency: str) -> str:
    """CodeNotation of an agency's documents: its unit number, e.g. 10-VP for 000.00.10.H22."""
    return f"{agency.split('.')[2]}-VP"


def month_of(scenario: Scenario, day: date) -> int:
    """Months since the scenario's first month: 0 in it."""
    first = scenario.calendar.start
    return (day.year - first.year) * 12 + day.month - first.month


class DocumentPlanner:
    def __init__(self, scenario: Scenario, seed: int, volume: float = 1.0) -> None:
        if scenario.documents is None:
            raise ValueError("the scenario has no [documents]")
        self.scenario, self.documents, self.seed, self.volume = scenario, scenario.documents, seed, volume
        self.calendar = WorkCalendar(scenario.calendar)
        self._numbers: dict[tuple[str, int], int] = {}

    def day(self, day: date) -> list[PlannedDocument]:
        rng = random.Random(f"{self.seed}:documents:{day.isoformat()}")
        times = poisson_times(rng, self.documents.per_day * self.volume, self.calendar.office_spans(day))
        paper = self.documents.paper.at(month_of(self.scenario, day))
        return [self._plan(rng, when, paper) for when in times]

    def _plan(self, rng: random.Random, when: datetime, paper: float) -> PlannedDocument:
        d = self.documents
        sender = rng.choice(d.agencies)
        others = [a for a in d.agencies if a != sender]
        recipients = tuple(rng.sample(others, 2 if rng.random() < d.share_two_recipients and len(others) > 1 else 1))
        due = when.date() + timedelta(days=round(d.due_days.draw(rng))) if rng.random() < d.share_due else None
        size = rng.randrange(2_000, 64_000) if rng.random() < d.share_attachment else None
        return PlannedDocument(sender, recipients, when, self._number(sender, when.year),
                               rng.choice(TYPE_NAMES), rng.choice(SUBJECTS), rng.random() < paper, due, size)

    def _number(self, sender: str, year: int) -> int:
        self._numbers[sender, year] = self._numbers.get((sender, year), 0) + 1
        return self._numbers[sender, year]


def handling(documents: Documents, calendar: WorkCalendar, seed: int, document_id: str, receiver: str,
             arrived_at: datetime) -> list[Step]:
    """What `receiver`'s office does with a document that arrived at `arrived_at`, status by status."""
    rng = random.Random(hashlib.sha256(f"{seed}:{document_id}:{receiver}".encode()).digest())
    steps = [Step(ARRIVED, arrived_at)]
    opened = calendar.add_office_hours(arrived_at, rng.uniform(0.1, 2.0))
    if rng.random() < documents.share_refused:
        return [*steps, Step(REFUSED, opened)]
    assigned = calendar.add_office_hours(opened, rng.uniform(0.2, 3.0))
    started = calendar.add_office_hours(assigned, rng.uniform(0.5, 8.0))
    done = calendar.next_office_instant(arrived_at + timedelta(days=documents.processing.draw(rng)))
    return [*steps, Step(ACCEPTED, opened), Step(ASSIGNED, assigned), Step(IN_PROGRESS, started),
            Step(COMPLETED, max(done, started + timedelta(minutes=30)).astimezone(VN_TZ))]
