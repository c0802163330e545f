"""A fetch that skips records, as tansu's can (DESIGN §4): the router's guard reads them again, nothing is lost."""

from __future__ import annotations

import asyncio
import dataclasses

from hub.bus import metrics
from hub.core.envelope import encode
from hub.testing.samples import dossier_submitted
from tests.support.records import produce, read_ids
from tests.support.router import MOT_CUA_KEY, running_router


def skip_once(consumer) -> list[int]:
    """Make the consumer's next non-empty fetch lose its first records, the way a racing fetch does."""
    fetch, dropped = consumer.getmany, []

    async def getmany(*args, **kwargs):
        batches = await fetch(*args, **kwargs)
        for tp, records in batches.items():
            if not dropped and len(records) > 2:
                dropped.extend(r.offset for r in records[1:3])
                batches[tp] = [records[0], *records[3:]]
        return batches

    consumer.getmany = getmany
    return dropped


async def test_records_a_fetch_skipped_are_read_again_and_routed(broker, tmp_path):
    envelopes = [dossier_submitted(counter=1) for _ in range(30)]  # one key: one partition, one run of offsets
    accepted = metrics.OFFSET_GAPS.labels("router", "accepted")._value.get()
    async with running_router(broker, tmp_path, partitions=1) as router:
        dropped = skip_once(router._consumer)
        await produce(broker.client, broker.topics.ingress, [encode(e) for e in envelopes],
                      [e.key.encode() for e in envelopes], signer=MOT_CUA_KEY)
        delivered = await read_ids(broker.client, broker.topics.inbox("ndxp"), {e.id for e in envelopes})
    assert dropped, "the fault was never injected"
    assert set(delivered) == {e.id for e in envelopes}
    assert router.gaps.recovered >= 1
    assert metrics.OFFSET_GAPS.labels("router", "accepted")._value.get() == accepted


async def test_the_sdk_connector_reads_skipped_records_again(broker, tmp_path):
    from hub.sdk import Connector

    received: list = []
    receiver = Connector("ndxp", name="NDXP", agency="NDXP", level="national")

    @receiver.on("dossier.submitted")
    async def take(message) -> None:
        received.append(message.envelope.id)

    class Registrar:
        async def register(self, spec):
            return MOT_CUA_KEY

        async def broker(self, connector_id):  # at-least-once: on a transactional link the guard stands aside (test_gaps.py)
            return dataclasses.replace(broker.link, transactions=False)

    await receiver.start(Registrar())
    dropped = skip_once(receiver._inbox)
    envelopes = [dossier_submitted(counter=2) for _ in range(30)]
    try:
        await produce(broker.client, broker.topics.inbox("ndxp"), [encode(e) for e in envelopes],
                      [e.key.encode() for e in envelopes])
        for _ in range(300):
            if len(set(received)) == len(envelopes):
                break
            await asyncio.sleep(0.1)
    finally:
        await receiver.stop()
    assert dropped
    assert sorted(set(received)) == sorted(e.id for e in envelopes)
    assert received == [e.id for e in envelopes]  # in order, each once
