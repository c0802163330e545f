"""The control plane through real HTTP against a real hub process."""

from __future__ import annotations

import copy
import time

import httpx
import orjson
import pytest

from hub.core.envelope import decode, encode
from hub.testing.samples import dossier_submitted
from tests.support.connectors import MOT_CUA_VERIFYING as MOT_CUA
from tests.support.connectors import NDXP_RECEIPTS as NDXP
from tests.support.hubs import OPERATOR
from tests.support.records import consume


@pytest.fixture(scope="module")
def signer(hub_process):
    """mot-cua's credential: the messages below are sent as mot-cua."""
    hub_process.register(NDXP)
    return hub_process.register(MOT_CUA)


@pytest.fixture(scope="module")
def api(hub_process, signer):
    with httpx.Client(base_url=hub_process.url, timeout=10, headers=OPERATOR) as client:
        yield client


@pytest.fixture(scope="module")
def post(api, signer):
    """POST /v1/messages signed by mot-cua."""
    def send(raw: bytes) -> httpx.Response:
        return api.post("/v1/messages", content=raw, headers={"content-type": "application/json",
                                                              **signer.http_headers(raw)})
    return send


def error_of(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"])
    return body["error"]


def test_health_is_green_and_names_the_broker(api, broker_kind):
    body = api.get("/v1/health").json()
    assert body["status"] == "ok" and body["checks"] == {"broker": True, "router": True, "store": True}
    broker = body["broker"]
    delivery = "exactly-once" if broker_kind == "kafka" else "at-least-once"  # Kafka's transactions
    assert (broker["kind"], broker["delivery"], broker["idempotence"]) == (broker_kind, delivery,
                                                                          broker_kind == "kafka")
    assert broker["topic_prefix"].startswith("t") and not broker["managed"]  # the session's, in a namespace


def test_openapi_docs_are_served(api):
    assert api.get("/docs").status_code == 200
    paths = api.get("/openapi.json").json()["paths"]
    assert {"/v1/messages", "/v1/schemas/{type}/versions", "/v1/connectors", "/v1/dlq", "/v1/health"} <= set(paths)


async def test_posted_message_reaches_the_target_inbox(post, hub_process):
    envelope = dossier_submitted()
    response = post(encode(envelope))
    assert response.status_code == 202, response.text
    assert response.json() == {"id": str(envelope.id), "status": "accepted", "targets": ["lgsp-kpi", "ndxp"]}
    records = await consume(hub_process.client, hub_process.topics.inbox("ndxp"), 1)
    assert envelope.id in {decode(r.value).id for r in records}


def _dlq_has(api, predicate, timeout=10.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for letter in api.get("/v1/dlq", params={"limit": 500}).json()["items"]:
            if predicate(letter):
                return letter
        time.sleep(0.2)
    raise AssertionError("dead letter not found")


def test_malformed_json_is_400_and_kept_in_dlq(api, post):
    response = post(b'{"id": "broken-1"')
    assert response.status_code == 400
    assert error_of(response)["details"]["stage"] == "decode"
    letter = _dlq_has(api, lambda d: d.get("original") == '{"id": "broken-1"')
    assert letter["stage"] == "decode" and "JSON" in letter["reason"]


def test_bad_envelope_is_422_naming_the_field(post):
    data = orjson.loads(encode(dossier_submitted()))
    data["version"] = "one"
    error = error_of(post(orjson.dumps(data)))
    assert error["code"] == "validation_failed" and error["details"]["errors"][0]["field"] == "envelope.version"


def test_schema_failure_is_422_and_listed_by_stage(api, post):
    data = orjson.loads(encode(dossier_submitted()))
    data["payload"]["KenhThucHien"] = 7
    response = post(orjson.dumps(data))
    assert response.status_code == 422
    assert error_of(response)["details"]["errors"][0] == {
        "field": "payload.KenhThucHien", "rule": "enum", "message": "7 is not one of 1, 2 or 3"}
    letter = _dlq_has(api, lambda d: data["id"] in (d.get("original") or ""))
    assert letter["stage"] == "schema"
    assert all(d["stage"] == "schema" for d in api.get("/v1/dlq", params={"stage": "schema"}).json()["items"])


def test_unknown_target_is_a_clear_routing_error(post):
    response = post(encode(dossier_submitted(target="so-xay-dung")))
    error = error_of(response)
    assert response.status_code == 422 and error["details"]["stage"] == "routing"
    assert "so-xay-dung" in error["message"]


def _logged(api, message_id: str, rule: str, timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = api.get(f"/v1/messages/{message_id}")
        found = [d for d in answer.json()["decisions"] if d.get("rule") == rule] if answer.status_code == 200 else []
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"no {rule} decision logged for {message_id}")


def test_the_same_signed_message_posted_again_is_409_not_replayed_and_kept(api, signer):
    envelope = dossier_submitted()
    raw = encode(envelope)
    captured = {"content-type": "application/json", **signer.http_headers(raw)}
    assert api.post("/v1/messages", content=raw, headers=captured).status_code == 202
    again = api.post("/v1/messages", content=raw, headers=captured)  # a replay: the same bytes, the same seal
    assert again.status_code == 409, again.text
    error = error_of(again)
    assert error["details"]["stage"] == "auth"
    assert error["details"]["errors"][0]["field"] == "envelope.id"
    assert error["details"]["errors"][0]["rule"] == "notReplayed" and str(envelope.id) in error["message"]
    letter = _dlq_has(api, lambda d: d["errors"][0]["rule"] == "notReplayed" and str(envelope.id) in d["original"])
    assert letter["stage"] == "auth" and letter["ingress"]["topic"] == "http"
    assert _logged(api, str(envelope.id), "notReplayed")["outcome"] == "rejected"


def test_a_stale_or_undated_signature_is_403_fresh_and_kept(api, signer):
    old, undated = dossier_submitted(), dossier_submitted()
    raw = encode(old)
    response = api.post("/v1/messages", content=raw, headers={
        "content-type": "application/json", **signer.http_headers(raw, int(time.time()) - 3600)})
    assert response.status_code == 403, response.text
    broken = error_of(response)["details"]["errors"][0]
    assert (broken["field"], broken["rule"]) == ("lgsp.signed-at", "fresh")
    assert "s old" in broken["message"] and "at most 300 s" in broken["message"]
    _dlq_has(api, lambda d: d["errors"][0]["rule"] == "fresh" and str(old.id) in d["original"])
    raw = encode(undated)
    seal = {name: value for name, value in signer.http_headers(raw).items() if name != "LGSP-Signed-At"}
    response = api.post("/v1/messages", content=raw, headers={"content-type": "application/json", **seal})
    assert response.status_code == 403 and error_of(response)["details"]["errors"][0]["rule"] == "fresh"
    assert "LGSP-Signed-At" in error_of(response)["details"]["errors"][0]["message"]


def test_oversized_body_is_413(api):
    response = api.post("/v1/messages", content=b"x" * 2_000_000)
    assert response.status_code == 413 and error_of(response)["details"]["limit_bytes"] == 1_000_000


def test_dlq_pagination(api):
    for _ in range(50):  # letters still arriving between the two reads shift the pages: read a still list
        first = api.get("/v1/dlq", params={"limit": 1}).json()
        second = api.get("/v1/dlq", params={"limit": 1, "offset": 1}).json()
        if first["total"] == second["total"]:
            break
        time.sleep(0.2)
    assert first["total"] >= 2 and first["items"] != second["items"]
    assert api.get("/v1/dlq", params={"limit": 0}).status_code == 422


def test_schema_registry_reads(api):
    types = {t["type"]: t for t in api.get("/v1/schemas").json()}
    assert types["dossier.submitted"]["latest"] >= 1
    assert api.get("/v1/schemas/dossier.submitted/versions").json()[0] == 1
    schema = api.get("/v1/schemas/dossier.submitted/versions/1").json()
    assert "MaHoSo" in schema["required"]
    assert api.get("/v1/schemas/dossier.submitted/versions/latest").status_code == 200
    assert error_of(api.get("/v1/schemas/nope.nope/versions"))["code"] == "not_found"
    assert api.get("/v1/schemas/dossier.submitted/versions/99").status_code == 404
    assert api.get("/v1/schemas/dossier.submitted/versions/x").status_code == 422


def test_register_compatible_version_then_refuse_breaking_one(api):
    schema = copy.deepcopy(api.get("/v1/schemas/ndxp.receipt/versions/latest").json())
    schema["properties"]["GhiChuNoiBo"] = {"type": "string"}
    dry = api.post("/v1/schemas/ndxp.receipt/compatibility", json={"schema": schema}).json()
    assert dry == {"is_compatible": True, "messages": []}
    created = api.post("/v1/schemas/ndxp.receipt/versions", json={"schema": schema})
    assert created.status_code == 200 and created.json()["created"] is True
    version = created.json()["version"]
    again = api.post("/v1/schemas/ndxp.receipt/versions", json={"schema": schema}).json()
    assert again == {"type": "ndxp.receipt", "version": version, "created": False}

    breaking = copy.deepcopy(schema)
    breaking["required"].append("GhiChuNoiBo")
    del breaking["properties"]["LyDo"]
    response = api.post("/v1/schemas/ndxp.receipt/versions", json={"schema": breaking})
    assert response.status_code == 409
    changes = error_of(response)["details"]["breaking_changes"]
    assert sorted(changes) == ["$.GhiChuNoiBo: new required field", "$.LyDo: field removed"]
    assert api.get("/v1/schemas/ndxp.receipt/versions").json()[-1] == version
    invalid = api.post("/v1/schemas/ndxp.receipt/versions", json={"schema": {"type": 5}})
    assert invalid.status_code == 422


def test_connector_registry(api):
    assert set(api.get("/v1/connectors").json()) >= {"mot-cua", "ndxp"}
    assert api.get("/v1/connectors", params={"expand": "info"}).json()["ndxp"]["info"]["level"] == "national"
    assert api.post("/v1/connectors", json=NDXP).status_code == 200  # same id again updates, no duplicate
    unknown = api.post("/v1/connectors", json={**NDXP, "id": "x", "consumes": ["dossier.nope"]})
    assert unknown.status_code == 422 and error_of(unknown)["details"][0]["field"] == "consumes[0]"
    bad_id = api.post("/v1/connectors", json={**NDXP, "id": "Bad Id"})
    assert bad_id.status_code == 422 and "id" in error_of(bad_id)["message"]
    created = api.post("/v1/connectors", json={**NDXP, "id": "tam-thoi"})
    assert created.status_code == 201 and created.json()["credential"]["value"].startswith("tam-thoi.")
    assert api.delete("/v1/connectors/tam-thoi").status_code == 204
    assert api.get("/v1/connectors/tam-thoi").status_code == 404
    assert api.delete("/v1/connectors/tam-thoi").status_code == 404
