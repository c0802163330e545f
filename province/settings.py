"""The simulation's settings, read from LGSP_* environment variables like the hub's own."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.settings import Settings


class ProvinceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LGSP_", extra="ignore")

    scenario: str = Field("binh-dinh-2023", description="Province scenario: a bundled name or a TOML path.")
    stubs: bool = Field(True, description="Run the three bundled connectors in the hub process.")
    speed: float = Field(3600.0, gt=0, description="Simulated seconds per real second.")
    seed: int = Field(2023, description="Seed of the simulation: the same seed gives the same province.")
    volume: float = Field(1.0, gt=0, description="Scales the scenario's dossiers and documents per day.")

    @property
    def retention_ms(self) -> int:
        """What the hub's topics keep under the province, unless LGSP_RETENTION_MS says: a simulated week, and at
        least an hour. At ×3600 a week of real time would be 25,000 simulated days of messages on disk."""
        return max(3_600_000, round(7 * 86_400_000 / self.speed))


def hub_settings(given: ProvinceSettings, **overrides) -> Settings:
    """The hub's settings under the province: its retention, unless LGSP_RETENTION_MS says otherwise."""
    settings = Settings(**overrides)
    if "retention_ms" in settings.model_fields_set:
        return settings
    return settings.model_copy(update={"retention_ms": given.retention_ms})
