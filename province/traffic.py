"""Seeded dossier traffic: what a province's one-stop offices receive on a simulated day.

Pure logic, no I/O. A `DossierPlanner` turns a scenario, a seed and a day into planned dossiers:
who applies for what, where, through which channel, when it is due, how long processing takes
and how it ends. The dossier-system simulator then plays the plans on the clock.

Time rules (documented because late/on-time depends on them):
- Legal processing days are working days of office hours (`calendar.office_hours`, 8 h by default),
  Monday-Friday minus `calendar.holidays`. Counting starts at the first office instant at or after
  reception, so an online dossier sent on Saturday night starts Monday 07:30.
- Due (NgayHenTra) = start + legal_days × office hours per day, counted in office time.
- Processing takes `share × legal time` of office time, share drawn from `traffic.processing`;
  time spent waiting for the citizen's supplement is outside it (the national rule subtracts it).
- Late: processing used more than the legal time (share > 1), or more than one supplement was
  requested. A dossier refused at reception (status 3) ends the same day: on time.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import IntEnum

from hub.core import deadlines
from hub.core.clock import VN_TZ
from province.scenario import Calendar, Procedure, Scenario, Traffic

ONLINE_HOURS = (time(6, 0), time(23, 0))  # when citizens submit online, weekends included
MAX_SHARE_OF_LEGAL_TIME = 4.0  # a lognormal tail beyond 4× the legal time is not plausible
MAX_SUPPLEMENT_DAYS = 60
REFUSAL_OFFICE_HOURS = (0.25, 2.0)  # refused at the counter within this much office time


class Channel(IntEnum):
    """KenhThucHien."""

    COUNTER = 1
    ONLINE = 2
    POST = 3


class ApplicantKind(IntEnum):
    """LoaiDoiTuong."""

    CITIZEN = 1
    BUSINESS = 2


class WorkCalendar:
    """Office hours on working days; time is counted in office hours."""

    def __init__(self, calendar: Calendar) -> None:
        self.windows = calendar.windows()
        self.holidays = frozenset(calendar.holidays)
        seconds = sum((_secs(b) - _secs(a)) for a, b in self.windows)
        self.hours_per_day = seconds / 3600

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def office_spans(self, day: date) -> list[tuple[datetime, datetime]]:
        if not self.is_working_day(day):
            return []
        return [(datetime.combine(day, a, VN_TZ), datetime.combine(day, b, VN_TZ)) for a, b in self.windows]

    def add_office_hours(self, start: datetime, hours: float) -> datetime:
        """The instant `hours` of office time after `start` (itself moved to the next office instant)."""
        remaining = timedelta(hours=hours)
        day = start.astimezone(VN_TZ).date()
        for _ in range(3660):  # ten years: more than any legal time, and no endless loop on odd calendars
            for open_, close in self.office_spans(day):
                if close <= start:
                    continue
                begin = max(open_, start)
                if remaining <= close - begin:
                    return begin + remaining
                remaining -= close - begin
            day += timedelta(days=1)
        raise ValueError("the calendar has no office hours within ten years")

    def next_office_instant(self, when: datetime) -> datetime:
        return self.add_office_hours(when, 0)


def _secs(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def _ceil_second(when: datetime) -> datetime:
    # Rounding up to whole seconds keeps `finished > due` exactly when the share exceeds 1.
    return when if not when.microsecond else when.replace(microsecond=0) + timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Supplement:
    requested_at: datetime
    returned_at: datetime  # the citizen handed in the missing papers; processing resumes

    @property
    def days(self) -> float:
        return (self.returned_at - self.requested_at).total_seconds() / 86400


@dataclass(frozen=True, slots=True)
class PlannedDossier:
    code: str  # MaHoSo: {agency}-{yyMMdd}-{daily counter}
    procedure: Procedure
    agency: str  # DonViXuLy
    applicant: ApplicantKind
    channel: Channel
    received_at: datetime  # NgayTiepNhan
    due_at: datetime  # NgayHenTra
    share_of_legal_time: float  # office time processing uses, per unit of legal time
    supplements: tuple[Supplement, ...]
    finished_at: datetime  # NgayKetThucXuLy; for a refused dossier, when the refusal was issued
    refused: bool  # status 3, not accepted
    verification_mismatch: bool  # applicant data will not match the population database
    signed: bool  # result digitally signed (False for refused dossiers)
    applicant_seed: int  # derive the applicant's name and personal ID from this, reproducibly

    @property
    def late(self) -> bool:
        """Late by the national rule, as planned (see the module notes): overdue in units of legal time."""
        return not self.refused and deadlines.late(self.share_of_legal_time - 1, len(self.supplements))

    @property
    def supplement_days(self) -> float:
        return sum(s.days for s in self.supplements)


def expected_late_share(traffic: Traffic, include_refused: bool = True) -> float:
    """The late share the planner produces in the long run.

    Over all dossiers (refused ones count as on time) or, with include_refused=False, over
    accepted dossiers only. Draws are independent, so: P(late | accepted) = 1 − P(share ≤ 1) ×
    P(not asked twice for a supplement).
    """
    on_time = (1 - traffic.processing.prob_above(1.0)) * (
        1 - traffic.share_supplement_requested * traffic.share_repeat_supplement
    )
    late = 1 - on_time
    return late * (1 - traffic.share_refused) if include_refused else late


class DossierPlanner:
    """Plans for a scenario and a seed; each day has its own random stream, so any day is reproducible alone."""

    def __init__(self, scenario: Scenario, seed: int, volume: float = 1.0) -> None:
        if volume < 0:
            raise ValueError("volume must be ≥ 0")
        self.scenario = scenario
        self.seed = seed
        self.volume = volume  # scales dossiers_per_day, for quick runs and load tests
        self.calendar = WorkCalendar(scenario.calendar)
        self._eligible: dict[tuple[bool, bool], tuple[list[Procedure], list[float]]] = {}
        for business in (False, True):
            for online in (False, True):
                procedures = [p for p in scenario.procedures if p.accepts(business, online)]
                cumulative, total = [], 0.0
                for p in procedures:
                    total += p.weight
                    cumulative.append(total)
                self._eligible[business, online] = (procedures, cumulative)

    def day(self, day: date) -> list[PlannedDossier]:
        """The dossiers received on `day`, in order of reception."""
        rng = random.Random(f"lgsp-traffic:{self.seed}:{day.isoformat()}")
        arrivals = sorted(self._arrivals(rng, day))
        counters: Counter[str] = Counter()
        plans = []
        for received_at, channel in arrivals:
            plans.append(self._plan(rng, received_at, channel, counters))
        return plans

    def days(self, first: date | None = None, count: int = 1) -> Iterator[PlannedDossier]:
        first = first or self.scenario.calendar.start
        for offset in range(count):
            yield from self.day(first + timedelta(days=offset))

    def _arrivals(self, rng: random.Random, day: date) -> list[tuple[datetime, Channel]]:
        t = self.scenario.traffic
        base = t.dossiers_per_day * self.volume
        office = self.calendar.office_spans(day)
        online_factor = 1.0 if office else t.days_off_online_factor
        online = [(datetime.combine(day, ONLINE_HOURS[0], VN_TZ), datetime.combine(day, ONLINE_HOURS[1], VN_TZ))]
        counter_share = 1 - t.share_online - t.share_by_post
        out = []
        for channel, expected, spans in (
            (Channel.COUNTER, base * counter_share, office),
            (Channel.ONLINE, base * t.share_online * online_factor, online),
            (Channel.POST, base * t.share_by_post, office),
        ):
            out += [(when, channel) for when in poisson_times(rng, expected, spans)]
        return out

    def _plan(
        self, rng: random.Random, received_at: datetime, channel: Channel, counters: Counter[str]
    ) -> PlannedDossier:
        t = self.scenario.traffic
        business = rng.random() < t.share_business_applicants
        procedures, cumulative = self._eligible[business, channel is Channel.ONLINE]
        procedure = rng.choices(procedures, cum_weights=cumulative)[0]
        agency = rng.choice(procedure.agencies)
        refused = rng.random() < t.share_refused
        mismatch = rng.random() < t.share_verification_mismatch
        share = min(t.processing.draw(rng), MAX_SHARE_OF_LEGAL_TIME)
        supplement_count = 0
        if rng.random() < t.share_supplement_requested:
            supplement_count = 2 if rng.random() < t.share_repeat_supplement else 1
        signed = rng.random() < t.share_signed_result
        applicant_seed = rng.getrandbits(32)

        start = self.calendar.next_office_instant(received_at)
        legal_hours = procedure.legal_days * self.calendar.hours_per_day
        due_at = self.calendar.add_office_hours(start, legal_hours)
        supplements: tuple[Supplement, ...] = ()
        if refused:
            share = rng.uniform(*REFUSAL_OFFICE_HOURS) / legal_hours
            finished_at = self.calendar.add_office_hours(start, share * legal_hours)
            signed = False
        else:
            finished_at, supplements = self._process(rng, start, share * legal_hours, supplement_count)

        counters[agency] += 1
        if counters[agency] > 9999:
            raise ValueError(f"{agency} received more than 9999 dossiers on one day; MaHoSo has 4 counter digits")
        return PlannedDossier(
            code=f"{agency}-{received_at:%y%m%d}-{counters[agency]:04d}",
            procedure=procedure,
            agency=agency,
            applicant=ApplicantKind.BUSINESS if business else ApplicantKind.CITIZEN,
            channel=channel,
            received_at=received_at,
            due_at=due_at,
            share_of_legal_time=share,
            supplements=supplements,
            finished_at=_ceil_second(finished_at),
            refused=refused,
            verification_mismatch=mismatch,
            signed=signed,
            applicant_seed=applicant_seed,
        )

    def _process(
        self, rng: random.Random, start: datetime, work_hours: float, supplement_count: int
    ) -> tuple[datetime, tuple[Supplement, ...]]:
        """Walk the processing in office time, pausing at each supplement request for the citizen's days."""
        t = self.scenario.traffic
        # Officers notice missing papers early in processing: request points in 10-60% of the work.
        points = sorted(rng.uniform(0.1, 0.6) for _ in range(supplement_count))
        now, done, supplements = start, 0.0, []
        for point in points:
            now = _ceil_second(self.calendar.add_office_hours(now, (point - done) * work_hours))
            days = min(max(1, math.ceil(t.supplement_days.draw(rng))), MAX_SUPPLEMENT_DAYS)
            returned = self.calendar.next_office_instant(now + timedelta(days=days))
            supplements.append(Supplement(requested_at=now, returned_at=returned))
            now, done = returned, point
        return self.calendar.add_office_hours(now, (1 - done) * work_hours), tuple(supplements)


def plan_day(scenario: Scenario, seed: int, day: date, volume: float = 1.0) -> list[PlannedDossier]:
    return DossierPlanner(scenario, seed, volume).day(day)


def poisson_times(rng: random.Random, expected: float, spans: list[tuple[datetime, datetime]]) -> list[datetime]:
    """A Poisson process over the spans with `expected` arrivals in total, to whole seconds."""
    total = sum((b - a).total_seconds() for a, b in spans)
    if expected <= 0 or total <= 0:
        return []
    times = []
    position = rng.expovariate(expected)  # in units of the whole span
    while position < 1.0:
        offset = position * total
        for a, b in spans:
            length = (b - a).total_seconds()
            if offset < length:
                times.append((a + timedelta(seconds=offset)).replace(microsecond=0))
                break
            offset -= length
        position += rng.expovariate(expected)
    return times
