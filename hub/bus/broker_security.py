"""How a client authenticates to the broker: SASL (SCRAM-SHA-512 on the hub's own Apache Kafka) over the
client listener, with TLS on a cluster that has it, or nothing (tansu, a cluster without authentication).

One `BrokerLogin` per principal; `options()` is what every aiokafka client of that principal is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka.helpers import create_ssl_context

MECHANISM = "SCRAM-SHA-512"


@dataclass(frozen=True)
class BrokerLogin:
    """A principal's broker credential. `str()` is the `username:password` form handed to a connector."""

    username: str
    password: str
    mechanism: str = MECHANISM
    protocol: str = "SASL_PLAINTEXT"  # or SASL_SSL
    cafile: Path | None = None

    def options(self) -> dict[str, Any]:
        ssl = {"ssl_context": create_ssl_context(cafile=self.cafile)} if self.protocol == "SASL_SSL" else {}
        return {"security_protocol": self.protocol, "sasl_mechanism": self.mechanism,
                "sasl_plain_username": self.username, "sasl_plain_password": self.password, **ssl}

    def as_user(self, username: str, password: str) -> BrokerLogin:
        """Another principal's login on the same cluster: one the hub made, so SCRAM-SHA-512 whatever this
        login's mechanism (hub.bus.principals creates SCRAM-SHA-512 credentials)."""
        return BrokerLogin(username, password, MECHANISM, self.protocol, self.cafile)

    def __str__(self) -> str:
        return f"{self.username}:{self.password}"

    def __repr__(self) -> str:  # never print the password by accident
        return f"BrokerLogin({self.username!r}, {self.mechanism!r})"

    @classmethod
    def parse(cls, text: str, security: dict[str, str] | None = None) -> BrokerLogin:
        """The `username:password` form (LGSP_BROKER_CREDENTIAL), on a cluster whose `security` a hub's
        /v1/health gives (protocol and mechanism)."""
        username, sep, password = text.strip().partition(":")
        if not sep or not username or not password:
            raise ValueError("a broker credential reads 'username:password'")
        security = security or {}
        return cls(username, password, security.get("mechanism", MECHANISM),
                   security.get("protocol", "SASL_PLAINTEXT"))

    @property
    def security(self) -> dict[str, str]:
        """What /v1/health says of the cluster's authentication (never a secret)."""
        return {"protocol": self.protocol, "mechanism": self.mechanism}
