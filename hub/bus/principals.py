"""Broker principals and what each may do: allow-listed ACLs, nothing else (the broker denies what no ACL
allows).

A connector's principal is named after its signing credential (`dossier-system.1a2b3c4d`), so a rotation
makes a second principal beside the first and both work through the grace period, as the two signing
credentials do. It may write the ingress, heartbeat and dead-letter topics, read the control topic and its
own inbox, and use its own consumer group. The hub's router and log indexer have principals of their own.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError, for_code

from hub.bus.acl_protocol import AlterScram, Binding, CreateAcls, DeleteAclsOf, Operation, Pattern, Resource
from hub.bus.broker_security import BrokerLogin
from hub.bus.topics import BrokerLink, Topics
from hub.core.errors import HubError

log = logging.getLogger(__name__)
RESOURCE_NOT_FOUND = 91  # deleting a SCRAM credential that is gone already
PROPAGATION_SECONDS = 0.3  # what a one-node broker takes to apply a new SCRAM credential, about
ITERATIONS = 8192  # Kafka's minimum for SCRAM-SHA-512 is 4096
TOPIC, GROUP, CLUSTER, TXN = Resource.TOPIC, Resource.GROUP, Resource.CLUSTER, Resource.TRANSACTIONAL_ID
LITERAL, PREFIXED = Pattern.LITERAL, Pattern.PREFIXED
READ, WRITE, DESCRIBE = Operation.READ, Operation.WRITE, Operation.DESCRIBE


class AclRefused(HubError, RuntimeError):
    """The broker refused to change a principal or an ACL."""


def principal(username: str) -> str:
    return f"User:{username}"


def connector_acls(topics: Topics, connector_id: str, username: str) -> list[Binding]:
    who = principal(username)
    return [
        (TOPIC, topics.ingress, LITERAL, who, WRITE),
        (TOPIC, topics.heartbeats, LITERAL, who, WRITE),
        (TOPIC, topics.dlq, LITERAL, who, WRITE),  # the SDK keeps the inbox messages it refuses there
        (TOPIC, topics.control, LITERAL, who, READ),
        (TOPIC, topics.inbox(connector_id), LITERAL, who, READ),
        (GROUP, topics.connector_group(connector_id), LITERAL, who, READ),
    ]


def router_acls(topics: Topics, username: str) -> list[Binding]:
    """Reads the ingress in its group; writes inboxes, dead letters, decisions and replies, in transactions
    named after its group."""
    who, prefix = principal(username), topics.prefix
    return [
        (TOPIC, topics.ingress, LITERAL, who, READ),
        (GROUP, topics.router_group, LITERAL, who, READ),
        (TOPIC, topics.inbox(""), PREFIXED, who, WRITE),
        *[(TOPIC, name, LITERAL, who, WRITE) for name in (topics.dlq, topics.decisions, topics.replies)],
        (TXN, f"{topics.router_group}-", PREFIXED, who, WRITE),  # <group>-<topic>-<partition>
        (TXN, f"{topics.router_group}-", PREFIXED, who, DESCRIBE),
        (CLUSTER, "kafka-cluster", LITERAL, who, Operation.IDEMPOTENT_WRITE),
        (TOPIC, f"{prefix}.", PREFIXED, who, DESCRIBE),  # metadata of the hub's topics,
        (TOPIC, f"{prefix}.", PREFIXED, who, Operation.CREATE),  # which it creates when missing
    ]


def log_indexer_acls(topics: Topics, username: str) -> list[Binding]:
    who = principal(username)
    return [(TOPIC, topics.decisions, LITERAL, who, READ),
            (GROUP, topics.log_indexer_group, LITERAL, who, READ)]


def new_login(username: str) -> BrokerLogin:
    return BrokerLogin(username, secrets.token_urlsafe(24))


def salted(password: str, salt: bytes, iterations: int = ITERATIONS) -> bytes:
    """SCRAM's Hi(): the broker keeps only keys derived from this, never the password."""
    return hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)


class Principals:
    """Creates and removes principals and their ACLs, through an admin client of a principal allowed to
    (cluster ALTER)."""

    def __init__(self, admin: AIOKafkaAdminClient, link: BrokerLink) -> None:
        self._admin, self._link = admin, link

    async def grant(self, login: BrokerLogin, acls: list[Binding]) -> None:
        """Allow `acls`, then create or reset `login`'s SCRAM credential, and return once it logs in. The
        broker applies metadata in order: a credential it knows comes with the ACLs granted before it."""
        await self.allow(acls)
        salt = secrets.token_bytes(32)
        await self._scram([], [(login.username, ITERATIONS, salt, salted(login.password, salt))])
        await self._until_usable(login)

    async def _until_usable(self, login: BrokerLogin, timeout: float = 15.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        await asyncio.sleep(PROPAGATION_SECONDS)  # a login tried sooner fails, and aiokafka logs it as an error
        while True:
            probe = AIOKafkaAdminClient(**self._link.as_login(login).client, request_timeout_ms=2000)
            try:
                await probe.start()
                return
            except KafkaError:
                if asyncio.get_running_loop().time() > deadline:
                    raise AclRefused(f"the broker did not accept the new credential of {login.username} "
                                     f"within {timeout:g} s") from None
                await asyncio.sleep(0.1)
            finally:
                await probe.close()

    async def allow(self, acls: list[Binding]) -> None:
        answer = await self._admin._send_to_controller(CreateAcls(acls))
        _raise_refused("creating ACLs", [(code, message) for code, message in answer.results])

    async def remove(self, usernames: list[str]) -> None:
        """Every ACL of these principals, then their credentials: their next request is refused."""
        if not usernames:
            return
        answer = await self._admin._send_to_controller(DeleteAclsOf([principal(u) for u in usernames]))
        _raise_refused("deleting ACLs", [(code, message) for code, message, _ in answer.results])
        await self._scram(usernames, [], missing_ok=True)

    async def _scram(self, deletions: list[str], upsertions: list, missing_ok: bool = False) -> None:
        answer = await self._admin._send_to_controller(AlterScram(deletions, upsertions))
        refused = [(code, f"{user}: {message or ''}") for user, code, message, _ in answer.results
                   if not (missing_ok and code == RESOURCE_NOT_FOUND)]
        _raise_refused("changing SCRAM credentials", refused)


def _raise_refused(what: str, results: list[tuple[int, str | None]]) -> None:
    refused = [f"{for_code(code).__name__} {message or ''}".strip() for code, message in results if code]
    if refused:
        raise AclRefused(f"the broker refused {what}: " + "; ".join(refused))
