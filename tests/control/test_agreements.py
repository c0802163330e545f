"""Data-sharing agreements on each broker, through a real hub process: two consumers of one type receive
the fields their agreements allow, signed by the hub; an ended or expired agreement stops delivery at
once, and nothing is lost; a citizen's disclosures list exactly what the inboxes received; no personal ID
is stored in clear; the SDK checks the hub's signature."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import orjson
import pytest
import sqlalchemy as sa

from hub.core.envelope import Envelope, encode
from hub.core.hub_signature import AGREEMENT_HEADER, ORIGINAL_DIGEST_HEADER, HubKeys, HubSignatureError
from hub.core.personal_id import make
from hub.core.rejection import DEAD_LETTER_PREFIX
from hub.sdk import Connector, HttpRegistrar, Message
from hub.sdk.registrar import RegistrationClient
from hub.testing.samples import AGENCY, dossier_submitted_payload
from tests.support.hubs import OPERATOR, HubProcess
from tests.support.records import consume, produce, read_ids
from tests.support.waiting import eventually

NARROW_FIELDS = ["/MaHoSo", "/TrangThaiHoSo"]
WIDE_FIELDS = ["/MaHoSo", "/ChuHoSo/HoVaTen", "/ChuHoSo/SoDinhDanh"]
_serials = itertools.count(1)


@pytest.fixture(scope="module")
def hub(tmp_path_factory, session_broker):
    process = HubProcess(tmp_path_factory.mktemp("agreements"), session_broker.fresh()).start()
    yield process
    process.stop()


@pytest.fixture
def parties(hub):
    """A dossier system and two agencies receiving its dossiers, fresh for each test."""
    suffix = uuid.uuid4().hex[:6]
    ids = {"provider": f"mot-cua-{suffix}", "narrow": f"so-tu-phap-{suffix}", "wide": f"cong-an-{suffix}"}
    credential = hub.register({"id": ids["provider"], "name": "Một cửa", "agency": AGENCY,
                               "produces": ["dossier.submitted"]})
    for side in ("narrow", "wide"):
        hub.register({"id": ids[side], "name": f"Hệ thống {side}", "agency": f"000.00.0{len(side)}.H22",
                      "consumes": ["dossier.submitted"]})
    yield ids, credential
    for connector in ids.values():  # the next test's dossiers reach its own consumers alone
        httpx.delete(f"{hub.url}/v1/connectors/{connector}", headers=OPERATOR).raise_for_status()


def agree(hub: HubProcess, provider: str, consumer: str, fields: list[str], **terms) -> dict:
    body = {"provider": provider, "consumer": consumer, "types": ["dossier.submitted"], "fields": fields,
            "purpose": {"code": "GIAI_QUYET_TTHC", "text": "Giải quyết thủ tục hành chính"},
            "legal_basis": "Nghị định 47/2020/NĐ-CP, Điều 15", "changed_by": "Nguyễn Văn Quản Trị",
            "valid_from": (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat(), **terms}
    answer = httpx.post(f"{hub.url}/v1/agreements", json=body, headers=OPERATOR)
    assert answer.status_code == 201, answer.text
    return answer.json()


def citizen() -> str:
    return make("052", 1990, True, 500_000 + next(_serials))


def dossier(source: str, personal_id: str, **fields) -> bytes:
    payload = dossier_submitted_payload(next(_serials), personal_id)
    return encode(Envelope.new("dossier.submitted", 1, source, payload, key=payload["MaHoSo"], **fields))


def publish(hub: HubProcess, raw: bytes, credential) -> None:
    answer = hub.publish(raw, credential)
    assert answer.status_code == 202, answer.text


def message_id(raw: bytes) -> str:
    return orjson.loads(raw)["id"]


async def inbox(hub: HubProcess, connector: str, count: int, idle: float = 0.0) -> list:
    return await consume(hub.client, hub.topics.inbox(connector), count, timeout=60, idle=idle)


def hub_keys(hub: HubProcess) -> HubKeys:
    return HubKeys.of(httpx.get(f"{hub.url}/v1/keys").json())


async def test_two_consumers_of_one_type_receive_the_fields_their_agreements_allow(hub, parties):
    ids, credential = parties
    narrow = agree(hub, ids["provider"], ids["narrow"], NARROW_FIELDS)
    wide = agree(hub, ids["provider"], ids["wide"], WIDE_FIELDS)
    raw = dossier(ids["provider"], citizen())
    publish(hub, raw, credential)

    [to_narrow], [to_wide] = await inbox(hub, ids["narrow"], 1), await inbox(hub, ids["wide"], 1)
    assert set(orjson.loads(to_narrow.value)["payload"]) == {"MaHoSo", "TrangThaiHoSo"}
    wide_payload = orjson.loads(to_wide.value)["payload"]
    assert set(wide_payload) == {"MaHoSo", "ChuHoSo"} and set(wide_payload["ChuHoSo"]) == {"HoVaTen", "SoDinhDanh"}
    keys, digests = hub_keys(hub), set()
    for record, agreement in ((to_narrow, narrow), (to_wide, wide)):
        headers = dict(record.headers)
        assert keys.verify(record.value, record.headers) == agreement["id"]
        # neither a plain hash of the original nor the source's signature over it: each would let the
        # consumer test guesses at what was withheld; the hub's keyed digest stands for the original
        assert headers[ORIGINAL_DIGEST_HEADER].decode() != hashlib.sha256(raw).hexdigest()
        assert not {"lgsp.signature", "lgsp.credential", "lgsp.signed-payload"} & set(headers)
        digests.add(headers[ORIGINAL_DIGEST_HEADER])
        assert orjson.loads(record.value)["id"] == message_id(raw)
        with pytest.raises(HubSignatureError):
            keys.verify(record.value.replace(b'"MaHoSo"', b'"MaHoSo" '), record.headers)
    assert len(digests) == 1  # one original behind both


async def test_a_consumer_no_agreement_governs_receives_the_bytes_unchanged(hub, parties):
    ids, credential = parties
    agree(hub, ids["provider"], ids["narrow"], NARROW_FIELDS)
    raw = dossier(ids["provider"], citizen())
    # a source cannot pass its message off as projected by the hub: the router drops such headers
    await produce(hub.client, hub.topics.ingress, [raw], signer=credential, headers=[(AGREEMENT_HEADER, b"forged")])
    [to_wide] = await inbox(hub, ids["wide"], 1)
    assert to_wide.value == raw
    headers = dict(to_wide.headers)
    assert AGREEMENT_HEADER not in headers
    assert headers["lgsp.signature"].decode() == credential.sign(raw, int(headers["lgsp.signed-at"]))


async def test_an_ended_or_expired_agreement_stops_delivery_at_once_and_loses_nothing(hub, parties):
    ids, credential = parties
    narrow = agree(hub, ids["provider"], ids["narrow"], NARROW_FIELDS)
    expires = datetime.now(timezone.utc) + timedelta(seconds=4)
    agree(hub, ids["provider"], ids["wide"], WIDE_FIELDS, valid_to=expires.isoformat())
    ended = httpx.post(f"{hub.url}/v1/agreements/{narrow['id']}/end", json={"changed_by": "Trần Thị Kiểm Soát"},
                       headers=OPERATOR)
    assert ended.status_code == 200 and ended.json()["in_force"] is False
    first = dossier(ids["provider"], citizen())
    publish(hub, first, credential)  # at once: the next message after the answer
    await asyncio.sleep(max(0.0, expires.timestamp() + 0.5 - time.time()))
    second = dossier(ids["provider"], citizen())
    publish(hub, second, credential)

    [to_wide] = await inbox(hub, ids["wide"], 1, idle=2)
    assert orjson.loads(to_wide.value)["id"] == message_id(first)
    assert await inbox(hub, ids["narrow"], 1, idle=1) == []
    letters = await consume(hub.client, hub.topics.dlq, 1_000, timeout=20, idle=1)
    refused = {}
    for letter in letters:
        if orjson.loads(letter.value).get("source") == ids["provider"]:
            headers = dict(letter.headers)
            refused.setdefault(message_id(letter.value), []).extend(
                (e["rule"], e["message"]) for e in orjson.loads(headers[DEAD_LETTER_PREFIX + "errors"]))
            assert headers[DEAD_LETTER_PREFIX + "stage"] == b"routing"
    assert {rule for rule, _ in refused[message_id(first)]} == {"agreement"}
    assert any(ids["narrow"] in why for _, why in refused[message_id(first)])
    assert all(any(ids[side] in why for _, why in refused[message_id(second)]) for side in ("narrow", "wide"))

    def logged() -> list:
        return httpx.get(f"{hub.url}/v1/messages", params={"key": orjson.loads(second)["key"]},
                         headers=OPERATOR).json()["decisions"]
    await eventually(logged, what="the second message's decision in the message log")
    [decision] = logged()
    assert decision["targets"] == ["lgsp-kpi"] and set(decision["sharing"]["withheld"]) == {ids["narrow"], ids["wide"]}


async def test_a_message_addressed_only_to_a_consumer_without_agreement_is_refused(hub, parties):
    ids, credential = parties
    narrow = agree(hub, ids["provider"], ids["narrow"], NARROW_FIELDS)
    httpx.post(f"{hub.url}/v1/agreements/{narrow['id']}/end", json={"changed_by": "x"}, headers=OPERATOR)
    answer = hub.publish(dossier(ids["provider"], citizen(), target=ids["narrow"]), credential)
    assert answer.status_code == 422
    [detail] = answer.json()["error"]["details"]["errors"]
    assert (detail["field"], detail["rule"]) == ("envelope.target", "agreement")
    assert ids["narrow"] in detail["message"]


async def test_disclosures_list_exactly_the_deliveries_the_inboxes_received(hub, parties):
    ids, credential = parties
    narrow = agree(hub, ids["provider"], ids["narrow"], NARROW_FIELDS)
    wide = agree(hub, ids["provider"], ids["wide"], WIDE_FIELDS)
    person, other = citizen(), citizen()
    sent = [dossier(ids["provider"], person), dossier(ids["provider"], other), dossier(ids["provider"], person)]
    for raw in sent:
        publish(hub, raw, credential)
    answered = hub.publish(dossier(ids["provider"], other), credential).json()
    assert {ids["narrow"], ids["wide"], "lgsp-kpi"} <= set(answered["targets"])
    about_person = {message_id(sent[0]), message_id(sent[2])}
    received = set()
    for consumer in (ids["narrow"], ids["wide"], "lgsp-kpi"):
        ids_read = await read_ids(hub.client, hub.topics.inbox(consumer), set(map(uuid.UUID, about_person)), timeout=60)
        received |= {(str(read), consumer) for read in ids_read if str(read) in about_person}
    assert len(received) == 6

    def listed() -> set:
        answer = httpx.get(f"{hub.url}/v1/people/{person}/disclosures", headers=OPERATOR).json()
        return {(row["message_id"], row["consumer"]) for row in answer["disclosures"]}

    await eventually(lambda: listed() == received, what="the log indexer to store the deliveries")
    rows = httpx.get(f"{hub.url}/v1/people/{person}/disclosures", headers=OPERATOR).json()["disclosures"]
    by_consumer = {row["consumer"]: row for row in rows}
    assert by_consumer[ids["narrow"]]["fields"] == NARROW_FIELDS
    assert by_consumer[ids["narrow"]]["agreement"]["id"] == narrow["id"]
    assert by_consumer[ids["wide"]]["agreement"]["legal_basis"] == wide["legal_basis"]
    assert by_consumer[ids["wide"]]["agency"] == "000.00.04.H22"
    assert by_consumer["lgsp-kpi"]["fields"] is None and by_consumer["lgsp-kpi"]["agreement"] is None
    assert httpx.get(f"{hub.url}/v1/people/{person}/disclosures").status_code == 401
    wrong = httpx.get(f"{hub.url}/v1/people/123/disclosures", headers=OPERATOR)
    assert wrong.status_code == 422 and wrong.json()["error"]["details"][0]["field"] == "path.personal_id"

    engine = sa.create_engine(hub.env["LGSP_DATABASE_URL"])
    tables = sa.MetaData()
    tables.reflect(engine)
    with engine.connect() as conn:
        stored = "".join(str(row) for table in tables.sorted_tables for row in conn.execute(sa.select(table)))
    engine.dispose()
    assert person in str(sent[0]) and person not in stored and other not in stored


async def test_agreements_refuse_bad_terms_by_field_and_rule_and_keep_every_change(hub, parties):
    ids, _ = parties
    base = {"provider": ids["provider"], "consumer": ids["narrow"], "types": ["dossier.submitted"],
            "purpose": {"code": "P", "text": "p"}, "legal_basis": "NĐ 47/2020", "changed_by": "a",
            "valid_from": datetime.now(timezone.utc).isoformat()}

    def refused(**change) -> tuple[int, list]:
        answer = httpx.post(f"{hub.url}/v1/agreements", json={**base, **change}, headers=OPERATOR)
        return answer.status_code, [(d["field"], d["rule"]) for d in answer.json()["error"]["details"]]

    assert refused(fields=["/ChuHoSo/Tuoi"]) == (422, [("fields[0]", "knownField")])
    assert refused(fields=["/MaHoSo"], consumer="khong-co") == (422, [("consumer", "knownConnector")])
    assert refused(fields=["MaHoSo"])[1][0][0] == "body.fields.0"
    assert refused(fields=["/MaHoSo"], valid_to="2020-01-01T00:00:00Z") == (422, [("valid_to", "afterValidFrom")])
    assert httpx.post(f"{hub.url}/v1/agreements", json={**base, "fields": ["/MaHoSo"]}).status_code == 401
    made = agree(hub, ids["provider"], ids["narrow"], NARROW_FIELDS)
    assert refused(fields=["/MaHoSo"]) == (409, [("types", "oneAgreement")])
    narrowed = httpx.patch(f"{hub.url}/v1/agreements/{made['id']}", headers=OPERATOR,
                           json={"types": ["dossier.completed"], "changed_by": "b"})
    assert narrowed.status_code == 422 and narrowed.json()["error"]["details"][0]["rule"] == "keepsTypes"

    changed = httpx.patch(f"{hub.url}/v1/agreements/{made['id']}", headers=OPERATOR,
                          json={"fields": ["/MaHoSo"], "changed_by": "Lê Văn Thay Đổi"})
    assert changed.status_code == 200 and changed.json()["version"] == 2
    httpx.post(f"{hub.url}/v1/agreements/{made['id']}/end", json={"changed_by": "Phạm Kết Thúc"}, headers=OPERATOR)
    history = httpx.get(f"{hub.url}/v1/agreements/{made['id']}/history").json()
    assert [(h["version"], h["change"], h["changed_by"]) for h in history] == [
        (1, "created", "Nguyễn Văn Quản Trị"), (2, "changed", "Lê Văn Thay Đổi"), (3, "ended", "Phạm Kết Thúc")]
    assert history[0]["agreement"]["fields"] == NARROW_FIELDS and history[1]["agreement"]["fields"] == ["/MaHoSo"]


async def test_the_sdk_checks_the_hubs_signature_on_what_it_projected(hub, parties):
    ids, credential = parties
    handled: list[Message] = []
    keys = await asyncio.to_thread(RegistrationClient(hub.url).hub_keys)
    receiver = Connector(f"so-y-te-{uuid.uuid4().hex[:6]}", name="Sở Y tế", agency="000.00.09.H22", hub_keys=keys)

    @receiver.on("dossier.submitted")
    async def on_dossier(message: Message) -> None:
        handled.append(message)

    await receiver.start(HttpRegistrar(hub.url))
    try:
        made = agree(hub, ids["provider"], receiver.id, NARROW_FIELDS)
        publish(hub, dossier(ids["provider"], citizen()), credential)
        await eventually(lambda: handled, what="the projected dossier to be handled")
        assert handled[0].agreement == made["id"] and set(handled[0].payload) == {"MaHoSo", "TrangThaiHoSo"}
        [genuine] = await inbox(hub, receiver.id, 1)
        forged = genuine.value.replace(b'"TrangThaiHoSo":2', b'"TrangThaiHoSo":9')
        await produce(hub.client, hub.topics.inbox(receiver.id), [forged], headers=list(genuine.headers))

        def forgery_kept() -> bool:
            return receiver.counters.failed == 1
        await eventually(forgery_kept, what="the forged record to be dead-lettered")
        assert len(handled) == 1 and "hub's signature does not match" in receiver.counters.last_error
    finally:
        await receiver.stop()
        httpx.delete(f"{hub.url}/v1/connectors/{receiver.id}", headers=OPERATOR)
