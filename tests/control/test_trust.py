"""Identity and access rights through a real hub process: HTTP ingress, Kafka ingress, operator token."""

from __future__ import annotations

import asyncio
import time

import httpx
import orjson
import pytest

from hub.core.credentials import Credential
from hub.core.envelope import decode, encode
from hub.sdk import Connector, HttpRegistrar
from hub.testing.samples import dossier_submitted
from tests.support import connectors
from tests.support.connectors import MOT_CUA
from tests.support.hubs import OPERATOR, HubProcess
from tests.support.records import consume, produce, read_ids

NDXP = {**connectors.NDXP, "produces": ["dossier.submitted"]}  # it may send dossiers too


@pytest.fixture(scope="module")
def hub(tmp_path_factory, session_broker):
    process = HubProcess(tmp_path_factory.mktemp("trust"), session_broker.fresh()).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def keys(hub) -> dict[str, Credential]:
    return {"ndxp": hub.register(NDXP), "mot-cua": hub.register(MOT_CUA)}


def operator(hub: HubProcess) -> httpx.Client:
    return httpx.Client(base_url=hub.url, headers=OPERATOR, timeout=10)


def dead_letter(hub: HubProcess, marker: str, timeout: float = 20.0) -> dict:
    """The dead letter whose original bytes contain `marker`."""
    deadline = time.monotonic() + timeout
    with operator(hub) as api:
        while time.monotonic() < deadline:
            for letter in api.get("/v1/dlq", params={"limit": 500}).json()["items"]:
                if marker in (letter.get("original") or ""):
                    return letter
            time.sleep(0.2)
    raise AssertionError(f"no dead letter holds {marker}")


def forgeries(keys: dict[str, Credential]) -> dict[str, tuple[bytes, Credential | None, bytes]]:
    """name → (bytes sent, signer, bytes signed): each must be refused at stage auth."""
    wrong_key = Credential(keys["mot-cua"].id, "ed25519", Credential.parse(str(keys["ndxp"])).secret)
    sent = {name: encode(dossier_submitted()) for name in ("wrong-key", "changed", "spoofed", "unsigned")}
    changed = sent["changed"].replace(b'"KenhThucHien":2', b'"KenhThucHien":1')
    return {
        "wrong-key": (sent["wrong-key"], wrong_key, sent["wrong-key"]),
        "changed": (changed, keys["mot-cua"], sent["changed"]),  # a valid signature of other bytes
        "spoofed": (sent["spoofed"], keys["ndxp"], sent["spoofed"]),  # source mot-cua, signed by ndxp
        "unsigned": (sent["unsigned"], None, sent["unsigned"]),
    }


RULES = {"wrong-key": "validSignature", "changed": "validSignature", "spoofed": "signerIsSource",
         "unsigned": "signed"}


def test_forged_messages_are_refused_over_http(hub, keys):
    for name, (raw, signer, signed) in forgeries(keys).items():
        headers = {"content-type": "application/json", **(signer.http_headers(signed) if signer else {})}
        response = httpx.post(f"{hub.url}/v1/messages", content=raw, headers=headers)
        error = response.json()["error"]
        assert response.status_code == 403, (name, response.text)
        assert (error["details"]["stage"], error["details"]["errors"][0]["rule"]) == ("auth", RULES[name]), name
        assert dead_letter(hub, orjson.loads(raw)["id"])["stage"] == "auth"


async def test_forged_messages_are_refused_on_the_kafka_ingress(hub, keys):
    cases = forgeries(keys)
    for raw, signer, signed in cases.values():
        await produce(hub.client, hub.topics.ingress, [raw],
                      signer=None if signer is None else _SignsOther(signer, signed))
    genuine = encode(dossier_submitted())
    await produce(hub.client, hub.topics.ingress, [genuine], signer=keys["mot-cua"])
    for name, (raw, _, _) in cases.items():
        letter = dead_letter(hub, orjson.loads(raw)["id"])
        assert (letter["stage"], letter["errors"][0]["rule"]) == ("auth", RULES[name]), name
    delivered = await consume(hub.client, hub.topics.inbox("ndxp"), 100, timeout=15)
    ids = {decode(r.value).id for r in delivered}
    assert decode(genuine).id in ids
    assert not ids & {decode(raw).id for raw, _, _ in cases.values()}


class _SignsOther:
    """A credential whose headers sign other bytes than those sent: what a replayed signature looks like."""

    def __init__(self, credential: Credential, signed: bytes) -> None:
        self._credential, self._signed = credential, signed

    def headers(self, _raw: bytes) -> list[tuple[str, bytes]]:
        return self._credential.headers(self._signed)


def test_a_revoked_credential_stops_at_once(hub, keys):
    extra = _rotate(hub, "mot-cua", grace_seconds=3600)
    raw = encode(dossier_submitted())
    assert hub.publish(raw, extra).status_code == 202
    with operator(hub) as api:
        assert api.delete(f"/v1/connectors/mot-cua/credentials/{extra.id}").status_code == 204
        assert api.delete(f"/v1/connectors/mot-cua/credentials/{extra.id}").status_code == 404
    again = encode(dossier_submitted())
    response = hub.publish(again, extra)
    assert response.status_code == 403 and response.json()["error"]["details"]["errors"][0]["rule"] == (
        "activeCredential")
    assert hub.publish(encode(dossier_submitted()), keys["mot-cua"]).status_code == 202  # the others still work
    on_kafka = encode(dossier_submitted())
    asyncio.run(produce(hub.client, hub.topics.ingress, [on_kafka], signer=extra))
    letter = dead_letter(hub, orjson.loads(on_kafka)["id"])
    assert (letter["stage"], letter["errors"][0]["rule"]) == ("auth", "activeCredential")


def _rotate(hub: HubProcess, connector_id: str, **request) -> Credential:
    return _rotated(hub, connector_id, **request)[0]


def _rotated(hub: HubProcess, connector_id: str, **request) -> tuple[Credential, str | None]:
    """The new signing credential and, on a broker with ACLs, the new broker credential."""
    with operator(hub) as api:
        response = api.post(f"/v1/connectors/{connector_id}/credentials", json=request)
    assert response.status_code == 201, response.text
    return Credential.parse(response.json()["value"]), response.json().get("broker_credential")


async def test_rotation_loses_no_message(hub, keys):  # keys: ndxp is registered to receive
    """A connector sends without pause while its credential is rotated and the old one expires."""
    sender = Connector("so-tu-phap", name="Sở Tư pháp", agency="000.00.02.H22", produces=["dossier.submitted"])
    await sender.start(HttpRegistrar(hub.url))
    sent = []
    try:
        for i in range(300):
            if i == 100:  # rotate: the old credential stays valid two seconds, in-flight messages with it
                signing, broker = await asyncio.to_thread(_rotated, hub, "so-tu-phap", grace_seconds=2)
                sender.use_credential(signing)
                if broker:  # on Apache Kafka: log in as the new principal before the old one goes
                    await sender.use_broker_credential(broker)
            sent.append((await sender.publish("dossier.submitted", dossier_submitted().payload)).id)
            await asyncio.sleep(0.01)
        await asyncio.sleep(2.5)  # the old one expired: the new one carries on
        sent.append((await sender.publish("dossier.submitted", dossier_submitted().payload)).id)
    finally:
        await sender.stop()
    assert set(sent) <= set(await read_ids(hub.client, hub.topics.inbox("ndxp"), set(sent), timeout=60))
    with operator(hub) as api:
        listed = api.get("/v1/connectors/so-tu-phap/credentials").json()
    assert len(listed) == 1 and "value" not in listed[0]  # the expired one is gone; no secret is ever listed


async def test_grants_change_at_run_time(hub, keys):
    """Without the grant, a connector can neither publish nor receive a type; an operator changes it live."""
    hub.register({"id": "so-xay-dung", "name": "Sở Xây dựng", "agency": "000.00.03.H22"})
    raw = encode(dossier_submitted(source="ndxp", target="so-xay-dung"))
    refused = hub.publish(raw, keys["ndxp"]).json()["error"]["details"]["errors"][0]
    assert (refused["field"], refused["rule"]) == ("envelope.target", "mayReceive")
    with operator(hub) as api:
        granted = api.put("/v1/connectors/so-xay-dung/grants",
                          json={"produces": ["dossier.submitted"], "consumes": ["dossier.submitted"]})
        assert granted.status_code == 200
        assert api.get("/v1/connectors/so-xay-dung/grants").json()["consumes"] == ["dossier.submitted"]
    assert hub.publish(encode(dossier_submitted(source="ndxp", target="so-xay-dung")), keys["ndxp"]).status_code == 202

    with operator(hub) as api:  # take mot-cua's right to publish dossiers away
        assert api.put("/v1/connectors/mot-cua/grants", json={"produces": [], "consumes": []}).status_code == 200
    refused = hub.publish(encode(dossier_submitted()), keys["mot-cua"]).json()["error"]["details"]["errors"][0]
    assert (refused["field"], refused["rule"]) == ("envelope.type", "mayPublish")
    with operator(hub) as api:
        api.put("/v1/connectors/mot-cua/grants", json={"produces": MOT_CUA["produces"], "consumes": []})
        unknown = api.put("/v1/connectors/mot-cua/grants", json={"produces": ["dossier.nope"], "consumes": []})
        assert unknown.status_code == 422 and unknown.json()["error"]["details"][0]["field"] == "produces[0]"
        assert api.put("/v1/connectors/nobody/grants", json={"produces": [], "consumes": []}).status_code == 404


@pytest.mark.parametrize(("method", "path"), [
    ("post", "/v1/connectors"), ("delete", "/v1/connectors/ndxp"), ("put", "/v1/connectors/ndxp/pause"),
    ("put", "/v1/connectors/ndxp/grants"), ("post", "/v1/connectors/ndxp/credentials"),
    ("get", "/v1/connectors/ndxp/credentials"), ("post", "/v1/schemas/ndxp.receipt/versions"),
    ("get", "/v1/dlq"), ("get", "/v1/messages?key=x"), ("get", "/v1/messages/0193"),
])
def test_writes_and_personal_data_need_the_operator_token(hub, keys, method, path):
    for headers in ({}, {"Authorization": "Bearer not-the-token"}):
        response = httpx.request(method, f"{hub.url}{path}", headers=headers, json={})
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["error"]["details"][0]["rule"] == "operatorToken"


def test_public_reads_need_no_token(hub, keys):
    for path in ("/v1/health", "/v1/connectors", "/v1/connectors/ndxp", "/v1/kpi/connectivity", "/v1/dlq/summary",
                 "/v1/schemas", "/metrics"):
        assert httpx.get(f"{hub.url}{path}").status_code == 200, path


async def test_only_signed_heartbeats_count(hub, keys):
    """Heartbeats feed the connectivity indicator: forged, stale or malformed ones are not believed."""
    def beat(connector: str) -> bytes:
        return orjson.dumps({"connector": connector, "at": time.time(), "state": "RUNNING", "handled": 0,
                             "duplicates": 0, "failed": 0, "published": 0, "last_error": None})

    def state() -> str:
        return httpx.get(f"{hub.url}/v1/connectors/ndxp/status").json()["state"]

    await produce(hub.client, hub.topics.heartbeats, [b"not json", b'{"no": "connector"}', beat("ndxp")])
    await produce(hub.client, hub.topics.heartbeats, [beat("ndxp")], signer=keys["mot-cua"])  # speaks for another
    old = beat("ndxp")  # signed by ndxp ten minutes ago, sent again now
    await produce(hub.client, hub.topics.heartbeats, [old], headers=keys["ndxp"].headers(old, int(time.time()) - 600))
    await asyncio.sleep(2)
    assert state() == "UNREACHABLE"
    await produce(hub.client, hub.topics.heartbeats, [beat("ndxp")], signer=keys["ndxp"])
    deadline = time.monotonic() + 15
    while state() != "RUNNING":
        assert time.monotonic() < deadline, "a signed heartbeat was not believed"
        await asyncio.sleep(0.2)
