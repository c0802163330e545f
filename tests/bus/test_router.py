"""The router against each real broker (Apache Kafka and tansu), in a namespace of its own."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import orjson

from hub.audit.decisions import decode as decode_decision
from hub.bus import metrics
from hub.bus.admin import TopicAdmin
from hub.bus.dead_letters import dead_letter
from hub.bus.topics import LOG_APPEND_TIME
from hub.core.envelope import decode, encode
from hub.core.rejection import Rejection
from hub.core.routing import Delivery
from hub.testing.samples import dossier_submitted
from tests.support.records import consume, produce, read_ids
from tests.support.router import MOT_CUA_KEY, running_router


async def test_valid_messages_reach_every_subscriber_in_key_order(broker, tmp_path):
    envelopes = [dossier_submitted(counter=i % 5) for i in range(40)]
    gaps = metrics.OFFSET_GAPS.labels("router", "accepted")._value.get()
    async with running_router(broker, tmp_path):
        await produce(broker.client, broker.topics.ingress, [encode(e) for e in envelopes],
                      [e.key.encode() for e in envelopes], signer=MOT_CUA_KEY)
        ndxp = await consume(broker.client, broker.topics.inbox("ndxp"), 40)
        report = await consume(broker.client, broker.topics.inbox("bao-cao"), 40)
    assert sorted(decode(r.value).id for r in ndxp) == sorted(e.id for e in envelopes)
    assert len(report) == 40
    assert metrics.OFFSET_GAPS.labels("router", "accepted")._value.get() == gaps  # every offset read in turn
    # Messages with one key (one dossier) stay in order on one partition.
    by_key: dict[bytes, list] = {}
    for record in ndxp:
        by_key.setdefault(record.key, []).append((record.partition, decode(record.value).id))
    for key, seen in by_key.items():
        assert len({p for p, _ in seen}) == 1
        sent = [e.id for e in envelopes if e.key.encode() == key]
        assert [i for _, i in seen] == sent


async def test_rejected_messages_keep_original_bytes_and_reason(broker, tmp_path):
    bad_json = b'{"id": '
    unknown_target = encode(dossier_submitted(target="so-tai-chinh"))
    bad_payload = orjson.loads(encode(dossier_submitted()))
    bad_payload["payload"]["ChuHoSo"]["SoDinhDanh"] = "999190001234"
    bad_payload = orjson.dumps(bad_payload)
    async with running_router(broker, tmp_path):
        await produce(broker.client, broker.topics.ingress, [bad_json, unknown_target, bad_payload],
                      signer=MOT_CUA_KEY)
        letters = [dead_letter(r) for r in await consume(broker.client, broker.topics.dlq, 3)]
    by_stage = {letter["stage"]: letter for letter in letters}
    assert set(by_stage) == {"decode", "routing", "schema"}
    assert by_stage["decode"]["original"] == bad_json.decode()
    assert by_stage["routing"]["errors"][0]["rule"] == "knownTarget"
    assert "so-tai-chinh" in by_stage["routing"]["reason"]
    assert by_stage["schema"]["errors"][0]["field"] == "payload.ChuHoSo.SoDinhDanh"
    assert by_stage["schema"]["original"].encode() == bad_payload
    assert all(letter["ingress"]["topic"] == broker.topics.ingress for letter in letters)


async def test_oversized_message_goes_to_dlq(broker, tmp_path):
    big = orjson.loads(encode(dossier_submitted()))
    big["payload"]["TenTTHC"] = "x" * 5000
    async with running_router(broker, tmp_path, max_message_bytes=4096):
        await produce(broker.client, broker.topics.ingress, [orjson.dumps(big)], signer=MOT_CUA_KEY)
        [record] = await consume(broker.client, broker.topics.dlq, 1)
    letter = dead_letter(record)
    assert (letter["stage"], letter["errors"][0]["rule"]) == ("decode", "maxBytes")
    assert letter["size_bytes"] > 4096


async def test_offsets_are_committed_after_routing(broker, tmp_path):
    from aiokafka import AIOKafkaConsumer, TopicPartition

    async with running_router(broker, tmp_path) as router:
        await produce(broker.client, broker.topics.ingress, [encode(dossier_submitted(counter=i)) for i in range(10)],
                      signer=MOT_CUA_KEY)
        await consume(broker.client, broker.topics.inbox("ndxp"), 10)
        for _ in range(50):
            if router.stats.routed == 10:
                break
            await asyncio.sleep(0.1)
    assert router.stats.routed == 10 and router.stats.deliveries == 20
    probe = AIOKafkaConsumer(**broker.client, group_id=broker.topics.router_group,
                             enable_auto_commit=False)
    await probe.start()
    try:
        committed = [await probe.committed(TopicPartition(broker.topics.ingress, p)) or 0 for p in range(3)]
    finally:
        await probe.stop()
    assert sum(committed) == 10


async def test_router_stops_cleanly_when_idle(broker, tmp_path):
    async with running_router(broker, tmp_path, partitions=1) as router:
        assert router.running
    assert not router.running


async def test_a_replayed_record_and_a_stale_one_are_refused_and_kept(broker, tmp_path):
    """The same signed bytes sent twice onto the ingress: delivered once, then refused (notReplayed); a record
    signed 301 s ago is refused (fresh). Both are kept on the DLQ and published as decisions for the log."""
    envelope, stale = dossier_submitted(), dossier_submitted(counter=1)
    raw, stale_raw = encode(envelope), encode(stale)
    captured = MOT_CUA_KEY.headers(raw)  # one seal, sent twice: what a replay looks like
    async with running_router(broker, tmp_path):
        for _ in range(2):
            await produce(broker.client, broker.topics.ingress, [raw], [envelope.key.encode()], headers=captured)
        await produce(broker.client, broker.topics.ingress, [stale_raw],
                      headers=MOT_CUA_KEY.headers(stale_raw, int(time.time()) - 301))
        letters = [dead_letter(r) for r in await consume(broker.client, broker.topics.dlq, 2)]
        decisions = [decode_decision(r.value, r.headers)
                     for r in await consume(broker.client, broker.topics.decisions, 3)]
        delivered = await consume(broker.client, broker.topics.inbox("ndxp"), 2, timeout=3)
    assert [decode(r.value).id for r in delivered] == [envelope.id]
    by_rule = {letter["errors"][0]["rule"]: letter for letter in letters}
    assert set(by_rule) == {"notReplayed", "fresh"}
    assert by_rule["notReplayed"]["stage"] == "auth" and by_rule["notReplayed"]["original"].encode() == raw
    assert by_rule["fresh"]["errors"][0]["field"] == "lgsp.signed-at" and "at most 300 s old" in by_rule["fresh"]["reason"]
    logged = {(d.message_id, d.outcome, d.rule) for d in decisions}
    assert logged == {(str(envelope.id), "delivered", None), (str(envelope.id), "rejected", "notReplayed"),
                      (None, "rejected", "fresh")}


async def test_a_record_read_again_by_the_same_worker_is_routed_again(broker, tmp_path):
    """A batch routed again in one worker (a rebalance handing its partition back, an aborted transaction
    retried) is the same records at the same offsets: a re-delivery, not a replay."""
    envelopes = [dossier_submitted(counter=i) for i in range(5)]
    async with running_router(broker, tmp_path) as router:
        await produce(broker.client, broker.topics.ingress, [encode(e) for e in envelopes],
                      [e.key.encode() for e in envelopes], signer=MOT_CUA_KEY)
        await consume(broker.client, broker.topics.inbox("ndxp"), 5)
        records = await consume(broker.client, broker.topics.ingress, 5)
        again = await router._decide(records)
        moved = await router._decide([dataclasses.replace(r, offset=r.offset + 100) for r in records[:1]])
    assert all(isinstance(outcome, Delivery) for _, outcome in again)
    [(_, refused)] = moved
    assert isinstance(refused, Rejection) and refused.errors[0].rule == "notReplayed"


async def test_a_backlog_is_judged_by_when_the_broker_took_it(broker, tmp_path):
    """Messages that waited on the ingress longer than the signature age, while no router ran: on an ingress
    the broker dates (LogAppendTime, as the hub creates it) they are routed; where the broker leaves the
    sender's time, the router's clock judges and they are refused as stale, and kept."""
    admin = TopicAdmin(broker.link, broker.settings(partitions=3))
    await admin.start()
    await admin.ensure([broker.topics.ingress])
    await admin.close()
    envelopes = [dossier_submitted(counter=i) for i in range(5)]
    await produce(broker.client, broker.topics.ingress, [encode(e) for e in envelopes],
                  [e.key.encode() for e in envelopes], signer=MOT_CUA_KEY)
    dated = {r.timestamp_type for r in await consume(broker.client, broker.topics.ingress, 5)} == {LOG_APPEND_TIME}
    assert dated is (broker.kind == "kafka")  # tansu keeps the producer's time
    await asyncio.sleep(3)  # older than the age the router is given below, before it reads them
    async with running_router(broker, tmp_path, signature_max_age_seconds=2):
        if dated:
            ids = await read_ids(broker.client, broker.topics.inbox("ndxp"), {e.id for e in envelopes}, timeout=60)
            assert set(ids) == {e.id for e in envelopes}
        else:
            letters = [dead_letter(r) for r in await consume(broker.client, broker.topics.dlq, 5)]
            assert [letter["errors"][0]["rule"] for letter in letters] == ["fresh"] * 5
