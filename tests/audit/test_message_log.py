"""Every routing decision is in the message log, searchable by dossier code and by personal ID without the
ID ever leaving the hub in clear; `lgsp-hub audit verify` catches tampering; bodies over a limit get 413."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import sqlalchemy as sa

from hub.core.envelope import encode
from hub.core.personal_id import mask
from hub.store import Store, message_log
from hub.testing.samples import dossier_submitted
from tests.support.connectors import MOT_CUA, NDXP
from tests.support.hubs import OPERATOR, HubProcess, audit
from tests.support.waiting import eventually

CITIZEN = dossier_submitted().payload["ChuHoSo"]["SoDinhDanh"]


def search(hub: HubProcess, **criteria: str) -> httpx.Response:
    return httpx.get(f"{hub.url}/v1/messages", params=criteria, headers=OPERATOR, timeout=10)


async def test_decisions_are_logged_searchable_and_tamper_evident(tmp_path, broker):
    hub = HubProcess(tmp_path, broker, LGSP_LOG_PAYLOAD='{"dossier.*": "full"}').start()
    try:
        signer = hub.register(MOT_CUA)
        hub.register(NDXP)
        sent = [dossier_submitted(counter=i) for i in range(5)]
        for envelope in sent:
            assert hub.publish(encode(envelope), signer).status_code == 202
        refused = dossier_submitted(target="nobody")
        assert hub.publish(encode(refused), signer).status_code == 422

        def logged(envelope) -> list:
            response = httpx.get(f"{hub.url}/v1/messages/{envelope.id}", headers=OPERATOR, timeout=10)
            return response.json()["decisions"] if response.status_code == 200 else []
        await eventually(lambda: all(logged(e) for e in [*sent, refused]), what="every routing decision in the log")
        [delivered] = logged(sent[0])
        assert delivered["outcome"] == "delivered" and set(delivered["targets"]) == {"lgsp-kpi", "ndxp"}
        assert len(delivered["payload_sha256"]) == 64
        kept = orjson.loads(delivered["payload"])  # dossier.* in full: the text, its ID numbers masked
        assert kept["payload"]["MaHoSo"] == sent[0].key and kept["payload"]["ChuHoSo"]["SoDinhDanh"] == mask(CITIZEN)
        [rejected] = logged(refused)
        assert (rejected["outcome"], rejected["stage"]) == ("rejected", "routing")

        by_key = search(hub, key=sent[2].key).json()["decisions"]
        assert [d["message_id"] for d in by_key] == [str(sent[2].id)]
        assert search(hub, dossier_code=sent[2].key).json()["decisions"] == by_key

        by_citizen = search(hub, personal_id=CITIZEN)
        assert by_citizen.status_code == 200 and CITIZEN not in by_citizen.text
        assert by_citizen.json()["criteria"] == {"personal_id": mask(CITIZEN)}
        found = {d["message_id"] for d in by_citizen.json()["decisions"]}
        assert found == {str(e.id) for e in [*sent, refused]}
        assert search(hub, personal_id="052090009999").json()["decisions"] == []

        malformed = search(hub, personal_id="999090001234")
        assert malformed.status_code == 422 and "999090001234" not in malformed.text
        [detail] = malformed.json()["error"]["details"]
        assert (detail["field"], detail["rule"]) == ("query.personal_id", "x-personal-id")

        assert httpx.get(f"{hub.url}/v1/messages/{refused.correlation_id}", headers=OPERATOR).status_code == 404
        assert search(hub).status_code == 422
    finally:
        hub.stop()
    db_url = hub.env["LGSP_DATABASE_URL"]
    intact = audit(db_url)
    assert intact.returncode == 0 and "records verified" in intact.stdout
    store = Store(db_url)
    with store.engine.begin() as conn:
        seq = conn.execute(sa.select(message_log.c.seq).where(message_log.c.message_id == str(sent[1].id))).scalar()
        payload = conn.execute(sa.select(message_log.c.payload).where(message_log.c.seq == seq)).scalar()
        conn.execute(sa.update(message_log).where(message_log.c.seq == seq)
                     .values(payload=payload.replace(sent[1].key, "000.00.18.H22-231115-9999")))
    store.close()
    broken = audit(db_url)
    assert broken.returncode == 1 and f"seq={seq}" in broken.stderr and str(sent[1].id) in broken.stderr


def test_every_request_body_has_a_limit(hub_process):
    def pieces(size: int, piece: int = 8192):
        for start in range(0, size, piece):
            yield b" " * min(piece, size - start)

    limit = 1 << 20  # LGSP_MAX_REQUEST_BYTES' default: a large schema fits
    url = f"{hub_process.url}/v1/schemas/dossier.submitted/compatibility"
    for body in (b" " * (limit + 1), pieces(limit + 1)):  # declared, then chunked with no length at all
        response = httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=30)
        assert response.status_code == 413
        assert response.json()["error"] == {"code": "payload_too_large", "details": {"limit_bytes": limit},
                                            "message": f"request body larger than the limit of {limit} bytes"}
    message_limit = 1_000_000
    response = httpx.post(f"{hub_process.url}/v1/messages", content=pieces(message_limit + 1), timeout=30)
    assert response.status_code == 413 and response.json()["error"]["details"] == {"limit_bytes": message_limit}
    assert httpx.post(url, content=b"{}", headers={"content-type": "application/json"}).status_code != 413


async def test_a_refusal_at_the_http_edge_reaches_the_log_through_the_decisions_topic(tmp_path, broker):
    """The API publishes its own refusals on the decisions topic, as the router does; its log indexer stores
    them, searchable by personal ID like any other decision."""
    from hub.audit.decisions import decode
    from tests.support.records import consume

    hub = HubProcess(tmp_path, broker).start()
    try:
        signer = hub.register(MOT_CUA)
        refused = [dossier_submitted(target="nobody", counter=i) for i in range(3)]
        for envelope in refused:
            assert hub.publish(encode(envelope), signer).status_code == 422

        def logged() -> set[str]:
            return {d["message_id"] for d in search(hub, personal_id=CITIZEN).json()["decisions"]}
        await eventually(lambda: logged() == {str(e.id) for e in refused}, what="the refusals in the log")
        answer = await asyncio.to_thread(httpx.get, f"{hub.url}/v1/messages/{refused[0].id}", headers=OPERATOR)
        [record] = answer.json()["decisions"]
        assert (record["outcome"], record["stage"], record["origin"]) == ("rejected", "routing", None)
        published = [decode(r.value, r.headers) for r in await consume(broker.client, broker.topics.decisions, 3)]
        assert {d.message_id for d in published} == {str(e.id) for e in refused}
        assert all(d.raw is not None and d.origin is None for d in published)
    finally:
        hub.stop()
    assert audit(hub.env["LGSP_DATABASE_URL"]).returncode == 0
