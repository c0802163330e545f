"""`lgsp-hub record` against a real hub process: outcomes it cannot see on the wire.

The recording taps the inboxes of the connectors registered when it starts. A receiver registered later
is invisible to that tap: the outcome comes from the hub's message log when the operator token is given,
and is left unknown (and unchecked by a replay) when it is not.
"""

from __future__ import annotations

import asyncio

import pytest

from hub.envelope import Envelope, encode
from hub.fixtures.format import Fixture
from hub.fixtures.session import HubLink, record, replay
from tests.conftest import HubProcess

MOT_CUA = {"id": "mot-cua", "name": "Một cửa điện tử", "agency": "000.00.01.H22",
           "produces": ["citizen.verify.request"], "consumes": []}
POPULATION = {"id": "csdl-dan-cu", "name": "CSDL quốc gia về dân cư", "agency": "BCA", "level": "national",
              "produces": [], "consumes": ["citizen.verify.request"]}
SENT = 5


def verify_request(n: int) -> bytes:
    payload = {"MaYeuCau": f"YC-{n}", "MaDichVu": "XAC_THUC", "MaCanBo": "CB-01", "SoDinhDanh": "052090001234",
               "HoVaTen": "Nguyễn Thị Lan"}
    return encode(Envelope.new("citizen.verify.request", 1, "mot-cua", payload, key=f"YC-{n}"))


@pytest.fixture
def hub(tmp_path):
    process = HubProcess(tmp_path).start()
    yield process
    process.stop()


async def record_with_a_late_receiver(hub: HubProcess) -> list:
    """Record while a receiver the tap does not know of is registered and sent to."""
    sender = hub.register(MOT_CUA)
    tapping = asyncio.Event()
    recording = asyncio.create_task(record(HubLink(hub.url), duration=3.0, progress=lambda _: tapping.set()))
    await tapping.wait()
    await asyncio.to_thread(hub.register, POPULATION)
    for n in range(SENT):
        answer = await asyncio.to_thread(hub.publish, verify_request(n), sender)
        assert answer.status_code == 202 and answer.json()["targets"] == ["csdl-dan-cu"], answer.text
    return (await recording).messages


async def test_outcomes_missed_on_the_wire_come_from_the_message_log(hub):
    messages = await record_with_a_late_receiver(hub)
    assert len(messages) == SENT
    assert [m.outcome.delivered for m in messages] == [("csdl-dan-cu",)] * SENT


async def test_without_the_token_they_stay_unknown_and_a_replay_leaves_them_unchecked(hub, monkeypatch):
    monkeypatch.delenv("LGSP_OPERATOR_TOKEN")
    messages = await record_with_a_late_receiver(hub)
    assert len(messages) == SENT and not any(m.outcome.known for m in messages)
    assert all(m.to_json()["outcome"] is None for m in messages)

    monkeypatch.undo()  # replaying registers the fixture's connectors, as the operator
    link = HubLink(hub.url)
    result = await replay(Fixture(messages, [MOT_CUA, POPULATION]), await link.bootstrap_servers(), link.register,
                          timeout=30)
    assert result.summary()["unchecked"] == SENT and not result.mismatched
    assert [r.actual.delivered for r in result.replayed] == [("csdl-dan-cu",)] * SENT  # the replay still sees them
