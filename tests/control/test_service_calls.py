"""Synchronous calls through the hub over real HTTP, on each broker: the population stub answers a citizen
verification asked with curl; the refusals (403, 404, 422, 503), the timeout (504) and a late reply."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from datetime import datetime, timezone

import httpx
import orjson
import pytest

from hub.bus.topics import REPLY_TO_HEADER
from hub.core.credentials import Credential
from hub.core.hub_signature import HTTP_PROJECTION_HEADERS, HubKeys
from hub.sdk import Connector, HttpRegistrar, Message
from province.connectors.population_db.connector import ID as POPULATION_ID
from province.connectors.population_db.connector import PopulationDatabase
from province.connectors.population_db.population import Population
from tests.support.hubs import OPERATOR, HubProcess
from tests.support.records import produce
from tests.support.waiting import eventually

POPULATION = Population(seed=15, size=500)
CALLER = {"id": "mot-cua-http", "name": "Một cửa (HTTP)", "agency": "000.00.01.H22",
          "produces": ["citizen.verify.request"], "consumes": ["citizen.verify.reply"]}


@pytest.fixture(scope="module")
def hub(tmp_path_factory, session_broker):
    process = HubProcess(tmp_path_factory.mktemp("services"), session_broker.fresh(),
                         LGSP_REPLIES_PARTITION="0").start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def caller(hub) -> Credential:
    return hub.register(CALLER)


@pytest.fixture
async def population(hub):
    stub = PopulationDatabase(POPULATION)
    stub.connector.heartbeat_seconds = 0.5
    await stub.connector.start(HttpRegistrar(hub.url))
    await eventually(lambda: _state(hub, POPULATION_ID) == "RUNNING", what="the population stub to be RUNNING")
    yield stub
    await stub.connector.stop()


def _state(hub: HubProcess, connector_id: str) -> str:
    return httpx.get(f"{hub.url}/v1/connectors/{connector_id}/status").json()["state"]


def request(source: str, target: str = POPULATION_ID, type: str = "citizen.verify.request", **payload) -> bytes:
    citizen = POPULATION[7]
    body = {"MaYeuCau": "YC-1", "MaDichVu": "XAC_THUC", "MaCanBo": "CB-1", "SoDinhDanh": citizen.personal_id,
            "HoVaTen": citizen.full_name, "NgaySinh": citizen.birth_date.isoformat(), **payload}
    return orjson.dumps({"id": str(uuid.uuid4()), "type": type, "version": 1, "source": source, "target": target,
                         "occurred_at": datetime.now(timezone.utc).isoformat(), "payload": body})


async def call(hub: HubProcess, raw: bytes, signer: Credential | None, provider: str = POPULATION_ID,
               service: str = "citizen.verify.request", **params) -> httpx.Response:
    """POST a call; asynchronous, so the providers running in this test's event loop can answer it."""
    headers = {"content-type": "application/json", **(signer.http_headers(raw) if signer else {})}
    async with httpx.AsyncClient(timeout=60) as client:
        return await client.post(f"{hub.url}/v1/services/{provider}/{service}", content=raw, headers=headers,
                                 params=params)


async def test_curl_verifies_a_citizen_through_the_hub(hub, caller, population, tmp_path):
    raw = request(CALLER["id"])
    (tmp_path / "request.json").write_bytes(raw)
    seal = caller.http_headers(raw)
    answered = await asyncio.to_thread(subprocess.run, [
        "curl", "-sS", "-D", str(tmp_path / "headers"), "-X", "POST", "-H", "content-type: application/json",
        *(arg for name, value in seal.items() for arg in ("-H", f"{name}: {value}")),
        "--data-binary", f"@{tmp_path / 'request.json'}",
        f"{hub.url}/v1/services/{POPULATION_ID}/citizen.verify.request"], capture_output=True, check=True)
    reply = orjson.loads(answered.stdout)
    sent = orjson.loads(raw)
    assert reply["type"] == "citizen.verify.reply" and reply["source"] == POPULATION_ID
    assert reply["correlation_id"] == sent["id"] and reply["target"] == CALLER["id"]
    assert reply["payload"] == POPULATION.verify(sent["payload"]) and reply["payload"]["KetQua"] == "khop"
    headers = (tmp_path / "headers").read_text().lower()
    assert "200 ok" in headers and "lgsp-signature:" in headers and "server-timing: hub;dur=" in headers
    # The request, its reply and the call's end are in the message log, the end with its latency.
    logged = await _logged(hub, sent["id"], 3)
    assert {d["outcome"] for d in logged} == {"delivered", "answered"}
    assert any(d["outcome"] == "answered" and " ms" in d["reason"] for d in logged)
    listed = httpx.get(f"{hub.url}/v1/services").json()
    verify = next(s for s in listed if s["provider"] == POPULATION_ID)
    assert verify["calls"] >= 1 and verify["p50_ms"] is not None and verify["reply"] == "citizen.verify.reply"
    calls = httpx.get(f"{hub.url}/v1/services/calls", headers=OPERATOR).json()
    assert calls[0]["message_id"] == sent["id"] and calls[0]["succeeded"] and calls[0]["response_bytes"] > 0


async def _logged(hub: HubProcess, correlation_id: str, at_least: int) -> list[dict]:
    def found() -> list[dict]:
        by_id = httpx.get(f"{hub.url}/v1/messages/{correlation_id}", headers=OPERATOR)
        by_correlation = httpx.get(f"{hub.url}/v1/messages", params={"correlation_id": correlation_id},
                                   headers=OPERATOR)
        return ((by_id.json()["decisions"] if by_id.status_code == 200 else [])
                + by_correlation.json()["decisions"])
    await eventually(lambda: len(found()) >= at_least, what=f"{at_least} log records of the call")
    return found()


async def test_refusals_name_the_field_and_rule_and_are_kept(hub, caller, population):
    other = hub.register({"id": "no-grant", "name": "No grant", "agency": "000.00.01.H22",
                          "produces": ["citizen.verify.request"]})  # may ask, may not receive the answer
    mute = hub.register({"id": "no-publish", "name": "No publish", "agency": "000.00.01.H22",
                         "consumes": ["citizen.verify.reply"]})  # may receive the answer, may not ask
    cases = [
        (await call(hub, request("no-publish"), mute), 403, "mayPublish"),
        (await call(hub, request(CALLER["id"]), None), 403, "signed"),
        (await call(hub, request("no-grant"), other), 403, "mayReceiveReply"),
        (await call(hub, request(CALLER["id"], target="nobody"), caller, provider="nobody"), 404, "registeredProvider"),
        (await call(hub, request(CALLER["id"]), caller, service="dossier.submitted"), 404, "servedType"),
        (await call(hub, request(CALLER["id"], HoVaTen="X"), caller), 422, "minLength"),
        (await call(hub, request(CALLER["id"], target="mot-cua-http"), caller), 422, "isProvider"),
        (await call(hub, _correlated(request(CALLER["id"])), caller), 422, "startsExchange"),
        (await call(hub, request(CALLER["id"]), caller, timeout=3600), 422, "maximum"),
    ]
    for response, status, rule in cases:
        assert response.status_code == status, response.text
        assert rule in [e["rule"] for e in _errors(response)], response.text
    # Every refused request is kept on the DLQ (the one asking too long a wait was refused before it was read).
    def kept_rules() -> set[str]:
        dlq = httpx.get(f"{hub.url}/v1/dlq", headers=OPERATOR, params={"limit": 100}).json()
        return {e["rule"] for d in dlq["items"] for e in d["errors"]}
    refused = {"signed", "mayPublish", "mayReceiveReply", "registeredProvider", "servedType", "minLength", "isProvider",
               "startsExchange"}
    await eventually(lambda: refused <= kept_rules(), what="the refused calls on the DLQ")


def _correlated(raw: bytes) -> bytes:
    return orjson.dumps({**orjson.loads(raw), "correlation_id": str(uuid.uuid4())})


async def test_only_a_services_reply_goes_to_a_waiting_call(hub, caller, population):
    """A request sent straight to the ingress with a correlation id and a replies partition, as a call's reply
    would be, is still delivered to its provider: only a service's reply from its provider is taken to a call."""
    raw = _correlated(request(CALLER["id"]))
    answered = population.answered
    await produce(hub.client, hub.topics.ingress, [raw], signer=caller, headers=[(REPLY_TO_HEADER, b"0")])
    await eventually(lambda: population.answered == answered + 1, what="the provider to answer the request")


def _errors(response: httpx.Response) -> list[dict]:
    details = response.json()["error"]["details"]
    return details["errors"] if isinstance(details, dict) else details


async def test_a_paused_provider_answers_503(hub, caller, population):
    httpx.put(f"{hub.url}/v1/connectors/{POPULATION_ID}/pause", headers=OPERATOR).raise_for_status()
    try:
        response = await call(hub, request(CALLER["id"]), caller)
        assert response.status_code == 503 and _errors(response)[0]["rule"] == "providerAvailable"
        assert "PAUSED" in response.json()["error"]["message"]
    finally:
        httpx.put(f"{hub.url}/v1/connectors/{POPULATION_ID}/resume", headers=OPERATOR).raise_for_status()


async def test_timeout_names_the_provider_and_a_late_reply_reaches_no_later_caller(hub, caller):
    release = asyncio.Event()
    slow = Connector("slow-registry", name="Slow registry", agency="C06", level="national", heartbeat_seconds=0.5)

    @slow.serves("citizen.verify.request", reply="citizen.verify.reply")
    async def answer(message: Message) -> None:
        if message.payload["MaYeuCau"] == "late":
            await release.wait()
        await slow.reply(message, "citizen.verify.reply", {"MaYeuCau": message.payload["MaYeuCau"],
                                                            "KetQua": "khop", "TonTai": True, "KhopDuLieu": True})

    await slow.start(HttpRegistrar(hub.url))
    try:
        await eventually(lambda: _state(hub, "slow-registry") == "RUNNING", what="the slow registry to run")
        late = request(CALLER["id"], target="slow-registry", MaYeuCau="late")
        response = await call(hub, late, caller, "slow-registry", timeout=1.5)
        assert response.status_code == 504 and "slow-registry" in response.json()["error"]["message"]
        release.set()  # the reply to the call that timed out comes now, while another call waits
        prompt = request(CALLER["id"], target="slow-registry", MaYeuCau="prompt")
        answered = await call(hub, prompt, caller, "slow-registry", timeout=30)
        assert answered.status_code == 200, answered.text
        assert answered.json()["payload"]["MaYeuCau"] == "prompt"  # its own reply, not the late one
        assert answered.json()["correlation_id"] == orjson.loads(prompt)["id"]
        late_id = orjson.loads(late)["id"]
        logged = await _logged(hub, late_id, 4)  # delivered request, timed_out, delivered reply, late
        assert {"timed_out", "late"} <= {d["outcome"] for d in logged}, logged
    finally:
        await slow.stop()


async def test_a_payload_signed_alone_is_put_in_an_envelope_from_its_signer(hub, caller, population):
    payload = orjson.loads(request(CALLER["id"]))["payload"]
    body = orjson.dumps(payload)
    response = await call(hub, body, caller)
    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply["payload"] == POPULATION.verify(payload) and reply["target"] == CALLER["id"]
    logged = await _logged(hub, reply["correlation_id"], 2)
    assert {d["source"] for d in logged if d["outcome"] == "answered"} == {CALLER["id"]}
    other = orjson.dumps({**payload, "HoVaTen": "Someone Else"})  # sent with the signature of `body`
    async with httpx.AsyncClient(timeout=30) as client:
        tampered = await client.post(f"{hub.url}/v1/services/{POPULATION_ID}/citizen.verify.request", content=other,
                                     headers={"content-type": "application/json", **caller.http_headers(body)})
    assert tampered.status_code == 403 and _errors(tampered)[0]["rule"] == "validSignature"


async def test_a_call_sent_again_is_409_not_replayed_and_a_stale_one_403(hub, caller, population):
    """The same signed call posted twice (envelope, then payload alone: the hub's envelope is new each time, the
    signature names it): answered once, then refused and kept. A signature an hour old is refused (fresh)."""
    for body in (request(CALLER["id"]), orjson.dumps(orjson.loads(request(CALLER["id"]))["payload"])):
        captured = {"content-type": "application/json", **caller.http_headers(body)}
        async with httpx.AsyncClient(timeout=60) as client:
            url = f"{hub.url}/v1/services/{POPULATION_ID}/citizen.verify.request"
            first, again = [await client.post(url, content=body, headers=captured) for _ in range(2)]
        assert first.status_code == 200, first.text
        assert again.status_code == 409 and _errors(again)[0]["rule"] == "notReplayed", again.text
    stale = request(CALLER["id"])
    async with httpx.AsyncClient(timeout=60) as client:
        old = await client.post(f"{hub.url}/v1/services/{POPULATION_ID}/citizen.verify.request", content=stale,
                                headers={"content-type": "application/json",
                                         **caller.http_headers(stale, int(time.time()) - 3600)})
    assert old.status_code == 403 and _errors(old)[0]["rule"] == "fresh", old.text

    def kept_rules() -> list[str]:
        dlq = httpx.get(f"{hub.url}/v1/dlq", headers=OPERATOR, params={"limit": 100}).json()
        return [e["rule"] for d in dlq["items"] for e in d["errors"]]
    await eventually(lambda: kept_rules().count("notReplayed") >= 2 and "fresh" in kept_rules(),
                     what="the refused calls on the DLQ")


async def test_two_api_processes_each_get_their_own_replies(hub, caller, population, tmp_path):
    """A second API process (no router, no log indexer) on the same store and namespace, reading replies from
    another partition: calls through both at once are each answered with their own reply."""
    second = HubProcess(tmp_path, hub.namespace, command="serve", LGSP_DATABASE_URL=hub.env["LGSP_DATABASE_URL"],
                        LGSP_ROUTER="false", LGSP_LOG_INDEXER="false", LGSP_REPLIES_PARTITION="1").start()
    try:
        partitions = {httpx.get(f"{api.url}/v1/health").json()["replies"]["partition"] for api in (hub, second)}
        assert partitions == {0, 1}
        await eventually(lambda: _state(second, POPULATION_ID) == "RUNNING", what="the second API to hear the stub")
        calls = [(api, request(CALLER["id"], MaYeuCau=f"YC-{i}")) for i in range(6) for api in (hub, second)]
        answers = await asyncio.gather(*(call(api, raw, caller) for api, raw in calls))
        for (_, raw), answer in zip(calls, answers, strict=True):
            assert answer.status_code == 200, answer.text
            sent = orjson.loads(raw)
            assert answer.json()["correlation_id"] == sent["id"]
            assert answer.json()["payload"]["MaYeuCau"] == sent["payload"]["MaYeuCau"]
    finally:
        second.stop()


async def test_a_reply_under_an_agreement_is_projected_and_one_withheld_is_refused_before_the_call(
        hub, caller, population):
    """Last in the module: it ends the caller's agreement on the reply."""
    body = {"provider": POPULATION_ID, "consumer": CALLER["id"], "types": ["citizen.verify.reply"],
            "fields": ["/MaYeuCau", "/KetQua"], "purpose": {"code": "XAC_THUC", "text": "Xác thực"},
            "legal_basis": "Nghị định 47/2020/NĐ-CP", "valid_from": "2026-01-01T00:00:00+07:00", "changed_by": "a"}
    made = httpx.post(f"{hub.url}/v1/agreements", json=body, headers=OPERATOR)
    assert made.status_code == 201, made.text
    answer = await call(hub, request(CALLER["id"]), caller)
    assert answer.status_code == 200, answer.text
    assert set(answer.json()["payload"]) == {"MaYeuCau", "KetQua"}
    assert answer.headers["LGSP-Agreement"] == made.json()["id"]
    keys = HubKeys.of(httpx.get(f"{hub.url}/v1/keys").json())
    headers = [(name, answer.headers[http].encode()) for name, http in HTTP_PROJECTION_HEADERS.items()]
    assert keys.verify(answer.content, headers) == made.json()["id"]

    httpx.post(f"{hub.url}/v1/agreements/{made.json()['id']}/end", json={"changed_by": "b"}, headers=OPERATOR)
    answered = population.answered
    refused = await call(hub, request(CALLER["id"]), caller)
    assert refused.status_code == 403 and _errors(refused)[0]["rule"] == "agreement", refused.text
    await asyncio.sleep(1)
    assert population.answered == answered  # the provider never saw the request
