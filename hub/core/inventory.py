"""The province's inventory: its agencies, its information systems and the plan's targets.

The connectivity indicator counts the inventory's systems, and a registration may only bind systems it
lists. The operator loads it (`LGSP_INVENTORY`, or `PUT /v1/inventory`); the hub stores and serves it.
The models are strict: unknown keys are refused, and every rule failure names the field.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from hub.core.errors import HubError
from hub.core.personal_id import province_codes
from hub.core.rejection import describe

Share = Annotated[float, Field(ge=0.0, le=1.0)]
# Mã định danh cơ quan: level-4 (3 digits) . level-3 (2) . level-2 (2) . province (letter + 2 digits).
AgencyCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
AgencyLevel = Literal["province", "district", "commune"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def duplicates(values: list[str]) -> list[str]:
    return sorted(value for value, count in Counter(values).items() if count > 1)


class Targets(Strict):
    """The provincial plan's targets, as shares in [0, 1]."""

    connected_systems: Share = Field(description="Systems serving citizens/businesses linked through the LGSP.")
    online_dossiers: Share = Field(description="Dossiers handled online (toàn trình / một phần).")
    signed_results: Share = Field(description="Dossier results digitally signed.")
    electronic_documents: Share = Field(description="Documents between agencies exchanged electronically.")
    inter_agency_dossiers_online: Share | None = Field(None, description="Inter-agency one-stop dossiers online.")


class Province(Strict):
    name: Name
    code: str = Field(description="3-digit province code of birth registration (052 Bình Định).")
    services_total: int | None = Field(None, ge=0, description="Services listed on the provincial portal.")
    services_fully_online: int | None = Field(None, ge=0)
    targets: Targets

    @field_validator("code")
    @classmethod
    def _known_code(cls, code: str) -> str:
        if code not in province_codes():
            raise ValueError(f"{code!r} is not a province code of birth registration")
        return code

    @model_validator(mode="after")
    def _consistent(self) -> Province:
        official = province_codes()[self.code]
        if official not in self.name:
            raise ValueError(f"code {self.code} is {official}, which the name {self.name!r} does not mention")
        if None not in (self.services_total, self.services_fully_online) and (
            self.services_fully_online > self.services_total
        ):
            raise ValueError("services_fully_online must not exceed services_total")
        return self


class Agency(Strict):
    code: AgencyCode
    name: Name
    level: AgencyLevel


class System(Strict):
    """One entry of the province's information-system inventory."""

    id: Slug
    name: Name
    owner: AgencyCode
    level: AgencyLevel
    kind: Literal["dossier_system", "portal", "sector_database", "shared_platform"]
    serves_citizens_businesses: StrictBool  # "yes" or 1 in a TOML file is a mistake, not True
    connected: StrictBool = Field(False, description="Linked through the LGSP when the inventory was taken.")


class Inventory(Strict):
    province: Province
    agencies: list[Agency] = Field(min_length=1)
    systems: list[System] = Field(min_length=1)

    @field_validator("agencies")
    @classmethod
    def _agencies_unique_one_province(cls, agencies: list[Agency]) -> list[Agency]:
        if dup := duplicates([a.code for a in agencies]):
            raise ValueError(f"agency codes must be unique; repeated: {', '.join(dup)}")
        suffixes = sorted({a.code[-3:] for a in agencies})
        if len(suffixes) > 1:
            raise ValueError(f"agency codes of one province share one province part; found {', '.join(suffixes)}")
        return agencies

    @field_validator("systems")
    @classmethod
    def _systems_unique(cls, systems: list[System]) -> list[System]:
        if dup := duplicates([s.id for s in systems]):
            raise ValueError(f"system ids must be unique; repeated: {', '.join(dup)}")
        return systems

    @model_validator(mode="after")
    def _owners_known(self) -> Inventory:
        known = {a.code for a in self.agencies}
        for i, system in enumerate(self.systems):
            if system.owner not in known:
                raise ValueError(f"systems[{i}].owner: {system.owner} ({system.id}) is not one of the agencies")
        return self

    def agency(self, code: str) -> Agency:
        return next(a for a in self.agencies if a.code == code)

    def systems_serving_citizens_businesses(self) -> list[System]:
        return [s for s in self.systems if s.serves_citizens_businesses]

    def connected_systems_denominator(self) -> int:
        """The target's denominator: systems that serve citizens and businesses."""
        return len(self.systems_serving_citizens_businesses())

    def connected_systems_share(self) -> float:
        """Share of those linked through the LGSP when the inventory was taken."""
        serving = self.systems_serving_citizens_businesses()
        return sum(s.connected for s in serving) / len(serving) if serving else 0.0

    def only(self) -> Inventory:
        """The inventory alone, without what a subclass (a simulated scenario) adds."""
        return Inventory.model_validate(self.model_dump(include=set(Inventory.model_fields)))


class InventoryError(HubError, ValueError):
    """An inventory file that cannot be used; the message names the file, each field and its rule."""


def read_inventory(path: Path) -> dict:
    """The inventory tables of a TOML file: an inventory alone, or a scenario that includes one."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {key: data[key] for key in Inventory.model_fields if key in data}


def load_inventory(path: Path) -> Inventory:
    try:
        data = read_inventory(path)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InventoryError(f"{path}: {exc}") from exc
    try:
        return Inventory.model_validate(data)
    except ValidationError as exc:
        raise InventoryError(f"{path}: {describe(exc.errors(include_url=False), '(inventory)')}") from exc
