"""What a client of a hub (a connector in its own process, the pytest plugin, the recorder) reads from its
environment: the SDK's one settings object, apart from the hub's own (`hub.settings`)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ClientSettings(BaseSettings):
    """What a client of a hub takes from its environment: a connector in its own process, the pytest plugin,
    the recorder. The hub's own settings are `Settings`."""

    model_config = SettingsConfigDict(env_prefix="LGSP_", extra="ignore")

    operator_token: SecretStr | None = Field(
        None, description="The hub's operator token: registering connectors and reading the message log need it.")
    connector_credential: SecretStr | None = Field(
        None, description="The credential an operator issued to this connector when registering it.")
    broker_credential: SecretStr | None = Field(
        None, description="The connector's broker credential ('username:password'), issued with its signing "
        "credential; for the tools that read a hub's topics (fixture replay), a principal allowed to.")
    dedup_window: int = Field(
        100_000, ge=1, description="Message ids a connector remembers to drop a message delivered twice.")

    @property
    def token(self) -> str | None:
        return self.operator_token.get_secret_value() if self.operator_token else None

    @property
    def broker_secret(self) -> str | None:
        return self.broker_credential.get_secret_value() if self.broker_credential else None

    @property
    def credential(self) -> str | None:
        return self.connector_credential.get_secret_value() if self.connector_credential else None
