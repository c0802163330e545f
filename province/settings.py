"""The simulation's settings, read from LGSP_* environment variables like the hub's own."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ProvinceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LGSP_", extra="ignore")

    scenario: str = Field("binh-dinh-2023", description="Province scenario: a bundled name or a TOML path.")
    stubs: bool = Field(True, description="Run the three bundled connectors in the hub process.")
    speed: float = Field(3600.0, gt=0, description="Simulated seconds per real second.")
    seed: int = Field(2023, description="Seed of the simulation: the same seed gives the same province.")
    volume: float = Field(1.0, gt=0, description="Scales the scenario's dossiers per day.")
