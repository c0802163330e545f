"""Who may do what on the broker: the hub's own principals, and one per connector credential.

The hub's principal (the admin of its own Apache Kafka, or KAFKA_SASL_* on a cluster) creates the others,
so it needs cluster ALTER: it is the one broker-wide principal. The router and the log indexer run as
principals of their own, allowed only what they do; their passwords are derived from the hub's, so every
API process of one hub gives its workers the same. On a broker without an authorizer (tansu, a cluster
without ACLs) everything runs as the hub's principal and `enabled` is False: /v1/health says
`broker_acl: false`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient

from hub.bus.broker_security import BrokerLogin
from hub.bus.principals import AclRefused, Principals, connector_acls, log_indexer_acls, new_login, router_acls
from hub.bus.topics import BrokerLink

log = logging.getLogger(__name__)
ROLES = {"router": router_acls, "log-indexer": log_indexer_acls}


class BrokerAccess:
    def __init__(self, link: BrokerLink) -> None:
        self._link = link
        self.enabled = False
        self._roles: dict[str, BrokerLink] = {}
        self._removed: set[str] = set()

    async def start(self) -> None:
        """Grant the hub's roles; a broker that refuses ACLs as disabled has no authorizer."""
        if self._link.login is None:
            return
        self._admin = AIOKafkaAdminClient(**self._link.client)
        await self._admin.start()
        self._principals = Principals(self._admin, self._link)
        try:
            for role, acls in ROLES.items():
                login = self._role_login(role)
                await self._principals.grant(login, acls(self._link.topics, login.username))
                self._roles[role] = self._link.as_login(login)
        except AclRefused as exc:
            if "SecurityDisabled" not in str(exc):
                raise
            log.warning("the broker has no authorizer: every client runs as %s (%s)", self._link.login.username, exc)
            return
        self.enabled = True

    async def stop(self) -> None:
        if hasattr(self, "_admin"):
            await self._admin.close()

    def role(self, name: str) -> BrokerLink:
        """The link a hub component (router, log-indexer) connects with."""
        return self._roles.get(name, self._link)

    def _role_login(self, role: str) -> BrokerLogin:
        username = f"{self._link.topics.prefix}-{role}"
        derived = hmac.digest(self._link.login.password.encode(), username.encode(), hashlib.sha256)
        return self._link.login.as_user(username, base64.urlsafe_b64encode(derived).rstrip(b"=").decode())

    async def grant_connector(self, connector_id: str, credential_id: str) -> BrokerLogin | None:
        """A principal for a connector's new credential (named after it), or None without ACLs."""
        if not self.enabled:
            return None
        login = self._link.login.as_user(credential_id, new_login(credential_id).password)
        await self._principals.grant(login, connector_acls(self._link.topics, connector_id, login.username))
        return login

    async def remove(self, credential_ids: Iterable[str]) -> None:
        """Cut these credentials' principals off: their next request is refused."""
        gone = [c for c in credential_ids if c not in self._removed]
        if self.enabled and gone:
            await self._principals.remove(gone)
            self._removed.update(gone)
