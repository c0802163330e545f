"""A flood of unauthenticated messages over real HTTP, on each broker, beside a connector's signed ones: past
the address's limit its refusals are counted, not kept; every authenticated message is delivered or kept."""

from __future__ import annotations

import asyncio
import math
import random
import re
import time

import httpx
import orjson
import pytest

from hub.core.envelope import decode, encode
from hub.core.rejection import DEAD_LETTER_PREFIX
from hub.store import Store
from hub.testing.samples import dossier_submitted
from tests.support.connectors import MOT_CUA_VERIFYING as MOT_CUA
from tests.support.connectors import NDXP_RECEIPTS as NDXP
from tests.support.hubs import OPERATOR, HubProcess
from tests.support.records import consume, read_ids
from tests.support.waiting import eventually

PER_MINUTE, BURST = 6, 20  # a token every 10 s: the flood below lasts seconds
UNSIGNED, FORGED, VALID, INVALID = 800, 200, 50, 20  # FORGED: signed by another body than the one sent
CONCURRENCY = 50  # requests in flight at once


@pytest.fixture(scope="module")
def hub(tmp_path_factory, session_broker):
    process = HubProcess(tmp_path_factory.mktemp("flood"), session_broker.fresh(),
                         LGSP_REFUSALS_PER_MINUTE=str(PER_MINUTE), LGSP_REFUSALS_BURST=str(BURST)).start()
    yield process
    process.stop()


def _schema_failure() -> bytes:
    data = orjson.loads(encode(dossier_submitted()))
    data["payload"]["KenhThucHien"] = 7
    return orjson.dumps(data)


async def test_a_flood_of_unsigned_messages_is_counted_and_no_signed_one_is_lost(hub):
    hub.register(NDXP)
    signer = hub.register(MOT_CUA)
    valid = [encode(dossier_submitted()) for _ in range(VALID)]
    sends = ([(encode(dossier_submitted()), {}, "unsigned") for _ in range(UNSIGNED)]
             + [(encode(dossier_submitted()), signer.http_headers(b"{}"), "forged") for _ in range(FORGED)]
             + [(raw, signer.http_headers(raw), "valid") for raw in valid]
             + [(raw, signer.http_headers(raw), "invalid") for raw in (_schema_failure() for _ in range(INVALID))])
    random.Random(7).shuffle(sends)  # the signed messages amid the flood, not after it
    async with httpx.AsyncClient(base_url=hub.url, timeout=30) as client:
        in_flight = asyncio.Semaphore(CONCURRENCY)

        async def post(raw: bytes, headers: dict) -> httpx.Response:
            async with in_flight:
                return await client.post("/v1/messages", content=raw,
                                         headers={"content-type": "application/json", **headers})
        started = time.monotonic()
        answers = await asyncio.gather(*(post(raw, headers) for raw, headers, _ in sends))
        seconds = time.monotonic() - started
    statuses = {kind: {a.status_code for a, (_, _, k) in zip(answers, sends) if k == kind}
                for kind in ("unsigned", "forged", "valid", "invalid")}
    assert statuses == {"unsigned": {403}, "forged": {403}, "valid": {202}, "invalid": {422}}
    bodies = {k: {a.content for a, (_, _, sent) in zip(answers, sends) if sent == k} for k in ("unsigned", "forged")}
    assert all(len(answered) == 1 for answered in bodies.values())  # kept or counted, the same answer

    seen = httpx.get(f"{hub.url}/v1/refusals", headers=OPERATOR).json()
    (flooder,) = seen["addresses"]
    counted = flooder["suppressed"]
    kept = UNSIGNED + FORGED - counted
    refilled = math.floor(seconds * PER_MINUTE / 60) + 1  # +1: the hub and the test read different clocks
    assert (flooder["address"], seen["suppressed"]) == ("127.0.0.1", counted)
    assert BURST <= kept <= BURST + refilled, (kept, seconds)
    assert sum(flooder["rules"].values()) == counted and set(flooder["rules"]) <= {"signed", "validSignature"}
    assert flooder["first_at"] <= flooder["last_at"]

    # On the DLQ: the refusals kept, and every authenticated one.
    letters = await consume(hub.client, hub.topics.dlq, kept + INVALID, idle=1.0)
    stages = [dict(r.headers)[DEAD_LETTER_PREFIX + "stage"].decode() for r in letters]
    assert (stages.count("auth"), stages.count("schema"), len(letters)) == (kept, INVALID, kept + INVALID)

    # In the message log: the same.
    store = Store(hub.env["LGSP_DATABASE_URL"])
    try:
        def logged(stage: str) -> int:
            return len(store.find_log(10_000, stage=stage, outcome="rejected"))
        await eventually(lambda: (logged("auth"), logged("schema")) == (kept, INVALID), timeout=30,
                         what="the refusals kept to be in the message log")
        await asyncio.sleep(1.0)  # and no more after
        assert (logged("auth"), logged("schema")) == (kept, INVALID)
    finally:
        store.close()

    # Every signed, valid message reached its target.
    expected = {decode(raw).id for raw in valid}
    delivered = expected & set(await read_ids(hub.client, hub.topics.inbox("ndxp"), expected))
    assert len(delivered) == VALID

    metrics = httpx.get(f"{hub.url}/metrics").text
    series = dict(re.findall(r'lgsp_refusals_suppressed_total\{rule="(\w+)",stage="auth"\} (\S+)', metrics))
    assert {rule: int(float(n)) for rule, n in series.items()} == flooder["rules"]
    print(f"\n{hub.namespace.kind}: {len(sends)} sent in {seconds:.1f} s: {UNSIGNED + FORGED} unauthenticated "
          f"({kept} kept in full, {counted} counted), {len(delivered)} delivered, {INVALID} refused and kept in full")


async def test_calls_refused_before_their_signature_is_checked_are_counted_unless_it_verifies(hub):
    signer = hub.register(MOT_CUA)
    before = await _dlq_rules(hub)
    path = "/v1/services/nobody/citizen.verify.request"  # no such provider: 404 before the signature is checked
    raws = [encode(dossier_submitted()) for _ in range(UNSIGNED // 8 + VALID // 5)]
    sends = [(raw, {} if n >= VALID // 5 else signer.http_headers(raw)) for n, raw in enumerate(raws)]
    async with httpx.AsyncClient(base_url=hub.url, timeout=30) as client:
        answers = [await client.post(path, content=raw, headers={"content-type": "application/json", **headers})
                   for raw, headers in sends]
    assert {answer.status_code for answer in answers} == {404}
    counted = httpx.get(f"{hub.url}/v1/refusals", headers=OPERATOR).json()["addresses"][0]["rules"].get(
        "registeredProvider", 0)
    unsigned = UNSIGNED // 8
    assert unsigned - BURST <= counted <= unsigned  # the bucket holds BURST at most, whatever refilled it
    kept = VALID // 5 + unsigned - counted  # every signed call, and the unsigned ones within the limit
    after = await _dlq_rules(hub, len(before) + kept)
    assert (len(after), after.count("registeredProvider")) == (len(before) + kept,
                                                               before.count("registeredProvider") + kept)


async def _dlq_rules(hub: HubProcess, count: int = 0) -> list[str]:
    """The first broken rule of every dead letter on the hub's DLQ (once `count` came, or after a second)."""
    letters = await consume(hub.client, hub.topics.dlq, count, timeout=30, idle=1.0)
    return [orjson.loads(dict(r.headers)[DEAD_LETTER_PREFIX + "errors"])[0]["rule"] for r in letters]
