"""A province scenario: its inventory (agencies, information systems, targets), and its simulation
(calendar, procedures, traffic, outages).

Scenarios are TOML files (`scenarios/<name>.toml`). The models are strict: unknown keys are
refused, and every rule failure names the field, so a typo in a scenario fails loudly at load.
"""

from __future__ import annotations

import math
import random
import re
import tomllib
from datetime import date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, ValidationError, field_validator, model_validator

from hub.core.clock import VN_TZ
from hub.core.envelope import ConnectorId
from hub.core.errors import HubError
from hub.core.inventory import AgencyCode, Inventory, Name, Share, Strict, duplicates
from hub.core.rejection import describe

ProcedureCode = Annotated[str, StringConstraints(pattern=r"^[0-9]\.[0-9]{6}$")]
ServiceLevel = Literal["toan_trinh", "mot_phan", "truc_tiep"]  # fully online / partly online / in person only

_HOURS = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$")


class Procedure(Strict):
    code: ProcedureCode
    name: Name
    field_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,50}$")]  # MaLinhVuc
    field_name: Name
    level: ServiceLevel
    legal_days: int = Field(ge=1, le=365, description="Legal processing time in working days.")
    agencies: list[AgencyCode] = Field(min_length=1, description="Handling agencies; one is picked per dossier.")
    applicants: Literal["citizen", "business", "both"] = "both"
    weight: float = Field(1.0, gt=0, description="Relative frequency among the scenario's procedures.")

    def accepts(self, business: bool, online: bool) -> bool:
        kind_ok = self.applicants == "both" or self.applicants == ("business" if business else "citizen")
        return kind_ok and not (online and self.level == "truc_tiep")


# --- traffic ------------------------------------------------------------------------------------


class LogNormal(Strict):
    kind: Literal["lognormal"]
    median: float = Field(gt=0)
    sigma: float = Field(gt=0, le=3)

    def draw(self, rng: random.Random) -> float:
        return rng.lognormvariate(math.log(self.median), self.sigma)

    def prob_above(self, x: float) -> float:
        return 0.5 * math.erfc(math.log(x / self.median) / (self.sigma * math.sqrt(2)))


class Uniform(Strict):
    kind: Literal["uniform"]
    low: float = Field(ge=0)
    high: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high <= self.low:
            raise ValueError("high must be greater than low")
        return self

    def draw(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)

    def prob_above(self, x: float) -> float:
        return min(1.0, max(0.0, (self.high - x) / (self.high - self.low)))


Distribution = Annotated[LogNormal | Uniform, Field(discriminator="kind")]


class Traffic(Strict):
    dossiers_per_day: float = Field(gt=0, description="Dossiers received on a working day.")
    share_online: Share = Field(description="Channel 2 (online).")
    share_by_post: Share = Field(description="Channel 3 (public post); the rest is channel 1, at the counter.")
    days_off_online_factor: float = Field(
        0.25, ge=0, le=1, description="Online arrivals on weekends/holidays relative to a working day."
    )
    share_business_applicants: Share
    processing: Distribution = Field(description="Share of the legal time a dossier's processing uses.")
    share_supplement_requested: Share
    share_repeat_supplement: Share = Field(0.1, description="Of supplemented dossiers, those asked a second time.")
    supplement_days: Distribution = Field(description="Calendar days the citizen takes to supplement.")
    share_refused: Share = Field(description="Not accepted at reception (status 3).")
    share_verification_mismatch: Share = Field(description="Applicant data failing the population-database check.")
    share_signed_result: Share

    @model_validator(mode="after")
    def _channels_fit(self) -> Traffic:
        if self.share_online + self.share_by_post > 1:
            raise ValueError("share_online + share_by_post must not exceed 1 (the rest is the counter)")
        return self


class PaperShare(Strict):
    """The share of documents still sent with a paper copy (edXML `Paper` 1), month by month: `start` in the
    scenario's first month, moving in a straight line to `end` after `months`, then staying there."""

    start: Share
    end: Share
    months: int = Field(ge=1, le=120)

    def at(self, month: int) -> float:
        return self.start + (self.end - self.start) * min(max(month, 0) / self.months, 1.0)


class Documents(Strict):
    """Official documents between the agencies' e-office systems, as edXML through the hub."""

    agencies: list[AgencyCode] = Field(min_length=2, description="Agencies whose e-office system is connected, "
                                       "one connector each (vpdt-<agency code>).")
    per_day: float = Field(gt=0, description="Documents sent on a working day, all these agencies together.")
    paper: PaperShare
    share_due: Share = Field(description="Documents with a DueDate.")
    due_days: Distribution = Field(description="Calendar days from sending to the DueDate.")
    processing: Distribution = Field(description="Calendar days a receiver takes to complete a document.")
    share_refused: Share = Field(description="Documents a receiver refuses (StatusCode 02).")
    share_two_recipients: Share = Field(0.2, description="Documents sent to two agencies rather than one.")
    share_attachment: Share = Field(description="Documents carrying a file (uploaded to the hub, sent by reference).")

    @field_validator("agencies")
    @classmethod
    def _agencies_unique(cls, agencies: list[str]) -> list[str]:
        if dup := duplicates(agencies):
            raise ValueError(f"agencies must be unique; repeated: {', '.join(dup)}")
        return agencies


class Outage(Strict):
    """A window during which a connector is down, counted from the scenario's first day."""

    connector: ConnectorId
    start_day: int = Field(ge=0)
    start_hour: float = Field(ge=0, lt=24)
    duration_hours: float = Field(gt=0, le=24 * 30)

    def window(self, first_day: date) -> tuple[datetime, datetime]:
        start = datetime.combine(first_day, time(), VN_TZ) + timedelta(days=self.start_day, hours=self.start_hour)
        return start, start + timedelta(hours=self.duration_hours)


class Calendar(Strict):
    start: date = Field(description="The scenario's first simulated day.")
    office_hours: list[str] = Field(
        default_factory=lambda: ["07:30-11:30", "13:30-17:30"], min_length=1, description="Reception windows."
    )
    holidays: list[date] = Field(default_factory=list, description="Days off besides Saturdays and Sundays.")

    @field_validator("office_hours")
    @classmethod
    def _windows(cls, windows: list[str]) -> list[str]:
        last = -1
        for window in windows:
            match = _HOURS.match(window)
            if not match:
                raise ValueError(f"{window!r} is not HH:MM-HH:MM")
            h1, m1, h2, m2 = map(int, match.groups())
            start, end = h1 * 60 + m1, h2 * 60 + m2
            if not last < start < end:
                raise ValueError(f"{window!r}: windows must be non-empty, in order and not overlap")
            last = end
        return windows

    def windows(self) -> list[tuple[time, time]]:
        pairs = (w.split("-") for w in self.office_hours)
        return [(time.fromisoformat(a), time.fromisoformat(b)) for a, b in pairs]


# --- the scenario -------------------------------------------------------------------------------


class Scenario(Inventory):
    """The province's inventory, and how its simulation runs."""

    calendar: Calendar
    procedures: list[Procedure] = Field(min_length=1)
    traffic: Traffic
    outages: list[Outage] = Field(default_factory=list)
    documents: Documents | None = None

    @field_validator("procedures")
    @classmethod
    def _procedures_unique(cls, procedures: list[Procedure]) -> list[Procedure]:
        if dup := duplicates([p.code for p in procedures]):
            raise ValueError(f"procedure codes must be unique; repeated: {', '.join(dup)}")
        return procedures

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        known = {a.code for a in self.agencies}
        for i, procedure in enumerate(self.procedures):
            for code in procedure.agencies:
                if code not in known:
                    raise ValueError(f"procedures[{i}].agencies: {code} ({procedure.code}) is not one of the agencies")
        for code in self.documents.agencies if self.documents else ():
            if code not in known:
                raise ValueError(f"documents.agencies: {code} is not one of the agencies")
        return self

    @model_validator(mode="after")
    def _traffic_servable(self) -> Scenario:
        """Every applicant kind and channel the traffic sends must have a procedure to land on."""
        t = self.traffic
        citizens, businesses = 1 - t.share_business_applicants, t.share_business_applicants
        kinds = [business for business, share in ((False, citizens), (True, businesses)) if share > 0]
        channels = [online for online, share in ((False, 1 - t.share_online), (True, t.share_online)) if share > 0]
        for business in kinds:
            for online in channels:
                if not any(p.accepts(business, online) for p in self.procedures):
                    who = "business" if business else "citizen"
                    how = "online (level toan_trinh or mot_phan)" if online else "at the counter"
                    raise ValueError(f"traffic: no procedure takes {who} dossiers {how}; add one or set the share to 0")
        return self

    def procedure(self, code: str) -> Procedure:
        return next(p for p in self.procedures if p.code == code)



# --- loading ------------------------------------------------------------------------------------


class ScenarioError(HubError, ValueError):
    """A scenario that cannot be used; the message names the file, the field and the rule."""


def bundled_scenarios_dir() -> Path:
    """`scenarios/` as shipped in the wheel (province/scenarios), or at the top of a source checkout."""
    shipped = resources.files("province").joinpath("scenarios")
    if shipped.is_dir():
        return Path(str(shipped))
    return Path(__file__).resolve().parent.parent / "scenarios"


def bundled_scenario_names() -> list[str]:
    return sorted(path.stem for path in bundled_scenarios_dir().glob("*.toml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a bundled scenario by name (`binh-dinh-2023`) or a TOML file by path."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = bundled_scenarios_dir() / f"{name_or_path}.toml"
        if not path.is_file():
            known = ", ".join(bundled_scenario_names()) or "none"
            raise ScenarioError(f"no scenario named {name_or_path!r} (bundled: {known})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(f"{path}: {exc}") from exc
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{path}: {describe(exc.errors(include_url=False), '(scenario)')}") from exc
