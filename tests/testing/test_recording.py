"""`lgsp-hub record` against a real hub process: receivers registered while it runs, and outcomes it
cannot see on the wire (taken from the hub's message log, or left unknown and unchecked)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from hub.core.envelope import Envelope, encode
from hub.testing.format import Fixture, FixtureMessage
from hub.testing.session import HubLink, _from_message_log, record, replay
from tests.support import connectors
from tests.support.connectors import POPULATION
from tests.support.hubs import OPERATOR, HubProcess

MOT_CUA = {**connectors.MOT_CUA, "produces": ["citizen.verify.request"]}  # it only asks
SENT = 5


def verify_request(n: int, **payload: str) -> bytes:
    payload = {"MaYeuCau": f"YC-{n}", "MaDichVu": "XAC_THUC", "MaCanBo": "CB-01", "SoDinhDanh": "052090001234",
               "HoVaTen": "Nguyễn Thị Lan", **payload}
    return encode(Envelope.new("citizen.verify.request", 1, "mot-cua", payload, key=f"YC-{n}"))


@pytest.fixture
def hub(tmp_path, broker):
    process = HubProcess(tmp_path, broker).start()
    yield process
    process.stop()


def publish(hub: HubProcess, raw: bytes, sender, status: int = 202) -> None:
    answer = hub.publish(raw, sender)
    assert answer.status_code == status, answer.text


async def test_a_receiver_registered_during_the_recording_is_followed(hub, monkeypatch):
    sender = hub.register(MOT_CUA)
    monkeypatch.delenv("LGSP_OPERATOR_TOKEN")  # no message log: what the fixture holds came off the wire
    tapping = asyncio.Event()
    # Long enough for the registration and the messages below on a loaded machine: the recording stops after it.
    link = HubLink(hub.url, broker_credential=hub.broker_credential)
    recording = asyncio.create_task(record(link, duration=10.0, progress=lambda _: tapping.set()))
    await tapping.wait()
    await asyncio.to_thread(hub.register, POPULATION)
    for n in range(SENT):
        await asyncio.to_thread(publish, hub, verify_request(n), sender)
    fixture = await recording
    assert [m.outcome.delivered for m in fixture.messages] == [("csdl-dan-cu",)] * SENT
    assert {c["id"] for c in fixture.connectors} >= {"mot-cua", "csdl-dan-cu"}  # a replay registers it too


async def test_outcomes_missed_on_the_wire_come_from_the_message_log(hub):
    sender = (hub.register(MOT_CUA), hub.register(POPULATION))[0]
    delivered, refused = verify_request(1), verify_request(2, SoDinhDanh="123")
    publish(hub, delivered, sender)
    publish(hub, refused, sender, status=422)
    unseen = [FixtureMessage(0, delivered), FixtureMessage(0, refused)]
    for message in unseen:  # the log is written off the routing path: wait until it holds the decision
        message_id = message.envelope["id"]
        deadline = time.monotonic() + 30
        while httpx.get(f"{hub.url}/v1/messages/{message_id}", headers=OPERATOR).status_code != 200:
            assert time.monotonic() < deadline, f"no decision logged for {message_id}"
            await asyncio.sleep(0.2)

    await _from_message_log(HubLink(hub.url, broker_credential=hub.broker_credential), unseen)
    assert unseen[0].outcome.key() == ("delivered", ("csdl-dan-cu",))
    assert unseen[1].outcome.key() == ("rejected", "schema", "payload.SoDinhDanh", "x-personal-id")


async def test_unknown_outcomes_are_sent_and_left_unchecked(hub):
    sent = [FixtureMessage(0, verify_request(n)) for n in range(SENT)]
    assert not any(m.outcome.known for m in sent) and all(m.to_json()["outcome"] is None for m in sent)
    link = HubLink(hub.url, broker_credential=hub.broker_credential)
    result = await replay(Fixture(sent, [MOT_CUA, POPULATION]), await link.broker(), link.register,
                          timeout=30)
    assert result.summary()["unchecked"] == SENT and not result.mismatched
    assert [r.actual.delivered for r in result.replayed] == [("csdl-dan-cu",)] * SENT  # still sent and routed
