"""The connector SDK against a real hub process over real HTTP, on each broker."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pydantic import BaseModel

from hub.core.envelope import encode
from hub.sdk import Connector, HttpRegistrar, Message, RegistrationError, RequestTimeout
from hub.testing.samples import dossier_submitted
from tests.support.hubs import OPERATOR, HubProcess
from tests.support.records import produce
from tests.support.waiting import eventually


@pytest.fixture(scope="module")
def hub(tmp_path_factory, session_broker):
    process = HubProcess(tmp_path_factory.mktemp("sdk"), session_broker.fresh(),
                         LGSP_HEARTBEAT_TIMEOUT_SECONDS="3").start()
    yield process
    process.stop()


async def status(hub: HubProcess, connector_id: str) -> dict:
    async with httpx.AsyncClient(base_url=hub.url) as client:
        return (await client.get(f"/v1/connectors/{connector_id}/status")).json()


class Dossier(BaseModel):
    MaHoSo: str
    DonViXuLy: str


def sender(connector_id: str = "sender", **kwargs) -> Connector:
    return Connector(connector_id, name="Sender", agency="000.00.01.H22", heartbeat_seconds=0.5,
                     produces=["dossier.submitted", "citizen.verify.request"], **kwargs)


async def test_typed_handler_dedup_and_registration_is_idempotent(hub):
    received: list[Dossier] = []
    inbox = Connector("typed-inbox", name="Inbox", agency="000.00.01.H22", heartbeat_seconds=0.5)

    @inbox.on("dossier.submitted", model=Dossier)
    async def collect(message: Message[Dossier]) -> None:
        received.append(message.payload)

    source = sender("typed-sender")
    registrar = HttpRegistrar(hub.url)
    await inbox.start(registrar)
    await source.start(registrar)
    try:
        sent = await source.publish("dossier.submitted", dossier_submitted().payload, target="typed-inbox",
                                    key="k1")
        # The same envelope again in the inbox, as an at-least-once re-delivery brings it: handled once. (Sent
        # to the ingress again, the router would refuse it as a replay.)
        await produce(hub.client, hub.topics.inbox("typed-inbox"), [encode(sent)], signer=source._credential)
        await eventually(lambda: inbox.counters.duplicates == 1, what="the duplicate to be dropped")
        assert [d.MaHoSo for d in received] == [sent.payload["MaHoSo"]]
        assert isinstance(received[0], Dossier)
    finally:
        await inbox.stop()
        await source.stop()
    again = Connector("typed-inbox", name="Inbox", agency="000.00.01.H22")
    await HttpRegistrar(hub.url).register(again.spec())  # a restart registers again: no second connector
    listing = httpx.get(f"{hub.url}/v1/connectors").json()
    assert listing.count("typed-inbox") == 1


async def test_request_reply_and_timeout(hub):
    answering = Connector("population-test", name="Population", agency="C06", level="national",
                          produces=["citizen.verify.reply"], heartbeat_seconds=0.5)
    silent = Connector("silent-test", name="Silent", agency="C06", level="national", heartbeat_seconds=0.5)

    @answering.on("citizen.verify.request")
    async def verify(message: Message) -> None:
        await answering.reply(message, "citizen.verify.reply", {
            "MaYeuCau": message.payload["MaYeuCau"], "KetQua": "khop", "TonTai": True, "KhopDuLieu": True})

    @silent.on("citizen.verify.request")
    async def ignore(message: Message) -> None:
        return None

    asker = sender("asker", expects=["citizen.verify.reply"])
    for connector in (answering, silent, asker):
        await connector.start(HttpRegistrar(hub.url))
    request = {"MaYeuCau": "R1", "MaDichVu": "XAC_THUC", "MaCanBo": "CB1", "SoDinhDanh": "052190001234",
               "HoVaTen": "Nguyễn Thị Lan"}
    try:
        reply = await asker.request("citizen.verify.request", request, target="population-test", timeout=30)
        assert reply.payload["KetQua"] == "khop" and reply.source == "population-test"
        with pytest.raises(RequestTimeout, match="silent-test"):
            await asker.request("citizen.verify.request", request, target="silent-test", timeout=1.5)
    finally:
        for connector in (answering, silent, asker):
            await connector.stop()


async def test_failing_handler_is_retried_then_dead_lettered_and_reported(hub):
    attempts: list[int] = []
    fragile = Connector("fragile", name="Fragile", agency="000.00.01.H22", heartbeat_seconds=0.5,
                        handler_attempts=3)

    @fragile.on("dossier.submitted")
    async def explode(message: Message) -> None:
        attempts.append(1)
        raise RuntimeError("database of the agency is locked")

    source = sender("fragile-sender")
    for connector in (fragile, source):
        await connector.start(HttpRegistrar(hub.url))
    try:
        sent = await source.publish("dossier.submitted", dossier_submitted().payload, target="fragile")
        await eventually(lambda: fragile.counters.failed == 1, what="the handler to give up")
        assert len(attempts) == 3
        await eventually(lambda: httpx.get(f"{hub.url}/v1/connectors/fragile/status").json()["state"] == "FAILED",
                         what="FAILED state")
        letters = httpx.get(f"{hub.url}/v1/dlq", params={"stage": "handler"}, headers=OPERATOR).json()["items"]
        mine = [d for d in letters if str(sent.id) in d["original"]]
        assert mine and "database of the agency is locked" in mine[0]["reason"]
        assert (await status(hub, "fragile"))["last_error"].startswith("handler failed 3 times")
    finally:
        await fragile.stop()
        await source.stop()
    await eventually(lambda: httpx.get(f"{hub.url}/v1/connectors/fragile/status").json()["state"] == "UNREACHABLE",
                     timeout=15, what="UNREACHABLE after it stopped")


async def test_pause_keeps_messages_waiting_and_resume_delivers_them_all(hub, broker_kind):
    handled: list[str] = []
    slow = Connector("pausable", name="Pausable", agency="000.00.01.H22", heartbeat_seconds=0.5)

    @slow.on("dossier.submitted")
    async def take(message: Message) -> None:
        handled.append(message.payload["MaHoSo"])

    source = sender("pause-sender")
    for connector in (slow, source):
        await connector.start(HttpRegistrar(hub.url))
    try:
        await source.publish("dossier.submitted", dossier_submitted(counter=1).payload, target="pausable")
        await eventually(lambda: len(handled) == 1, what="the first message before the pause")
        assert httpx.put(f"{hub.url}/v1/connectors/pausable/pause", headers=OPERATOR).status_code == 202
        await eventually(lambda: slow.paused, what="the connector to learn it is paused")
        codes = [(await source.publish("dossier.submitted", dossier_submitted(counter=i).payload,
                                       target="pausable")).payload["MaHoSo"] for i in range(2, 12)]
        await asyncio.sleep(2)
        assert len(handled) == 1
        state = await status(hub, "pausable")
        assert state["state"] == "PAUSED" and state["inbox_lag"] > 0
        if broker_kind == "kafka":  # from real end offsets (tansu's understate them by up to a batch); each
            # message was routed in a transaction of its own, whose commit marker takes an offset too
            await eventually(lambda: len(codes) <= httpx.get(f"{hub.url}/v1/connectors/pausable/status").json()[
                "inbox_lag"] <= 2 * len(codes), what="the lag to count every waiting message")
        assert httpx.put(f"{hub.url}/v1/connectors/pausable/resume", headers=OPERATOR).status_code == 202
        await eventually(lambda: len(handled) == 11, what="every waiting message after resume")
        assert sorted(handled[1:]) == sorted(codes)  # order is kept per key, not across keys
        await eventually(lambda: httpx.get(f"{hub.url}/v1/connectors/pausable/status").json()["inbox_lag"] == 0,
                         what="the lag to drain")
    finally:
        await slow.stop()
        await source.stop()
    assert httpx.put(f"{hub.url}/v1/connectors/nobody/pause", headers=OPERATOR).status_code == 404


async def test_registration_refuses_unknown_systems_and_types(hub):
    stray = Connector("stray", name="Stray", agency="000.00.01.H22", systems=["no-such-system"])
    with pytest.raises(RegistrationError, match="no-such-system"):
        await stray.start(HttpRegistrar(hub.url))
    response = httpx.post(f"{hub.url}/v1/connectors", headers=OPERATOR, json={**stray.spec(), "systems": ["dat-dai"],
                                                             "consumes": ["land.nope"]})
    assert response.status_code == 422 and response.json()["error"]["details"][0]["rule"] == "knownType"


async def test_a_provisioned_connector_runs_on_the_credentials_the_operator_handed_over(hub):
    """As a vendor's connector runs in production: registered by the operator, given both credentials."""
    inbox = Connector("provisioned", name="Provisioned", agency="000.00.01.H22", heartbeat_seconds=0.5)
    received: list[str] = []

    @inbox.on("dossier.submitted")
    async def collect(message: Message) -> None:
        received.append(message.payload["MaHoSo"])

    async with httpx.AsyncClient(base_url=hub.url, headers=OPERATOR, timeout=30) as client:
        shown = (await client.post("/v1/connectors", json=inbox.spec())).json()["credential"]
    on_kafka = hub.namespace.kind == "kafka"
    assert ("broker_credential" in shown) is on_kafka  # a broker without ACLs has none to hand over
    if on_kafka:
        with pytest.raises(RegistrationError, match="LGSP_BROKER_CREDENTIAL"):  # said at once, not a hang
            await Connector("provisioned", name="P", agency="000.00.01.H22").start(
                HttpRegistrar(hub.url, token="", credential=shown["value"]))
    await inbox.start(HttpRegistrar(hub.url, token="", credential=shown["value"],
                                    broker_credential=shown.get("broker_credential")))
    source = sender("provisioned-sender")
    await source.start(HttpRegistrar(hub.url))
    try:
        sent = await source.publish("dossier.submitted", dossier_submitted().payload, target="provisioned")
        await eventually(lambda: received == [sent.payload["MaHoSo"]], what="the provisioned connector to receive")
    finally:
        await source.stop()
        await inbox.stop()
