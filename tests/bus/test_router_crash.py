"""At-least-once: a router killed with SIGKILL mid-stream loses nothing once restarted, on each broker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

from hub.bus.dead_letters import dead_letter
from hub.core.credentials import issue
from hub.core.envelope import encode
from hub.store import Store
from hub.testing.samples import dossier_submitted
from tests.support import ROOT
from tests.support.connectors import MOT_CUA, NDXP
from tests.support.records import consume, produce, read_ids

N = 3000


def start_router(broker, db_url: str, log) -> subprocess.Popen:
    env = {**os.environ, **broker.env, "LGSP_DATABASE_URL": db_url,
           "LGSP_ROUTER_BATCH_MAX": "200", "LGSP_PARTITIONS": "3"}
    return subprocess.Popen([sys.executable, "-m", "hub", "router"], env=env, cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT)


async def count_delivered(broker) -> int:
    return len(await consume(broker.client, broker.topics.inbox("ndxp"), N * 2, timeout=1.0))


async def test_sigkill_mid_stream_loses_nothing(broker, tmp_path):
    db_url = f"sqlite:///{tmp_path / 'hub.db'}"
    store = Store(db_url)
    store.put_connector("mot-cua", MOT_CUA)
    store.put_connector("ndxp", NDXP)
    key, row = issue("mot-cua", "hmac-sha256")
    store.add_credential(row, None)
    store.close()
    envelopes = [dossier_submitted(counter=i) for i in range(N)]

    async def send(chunk) -> None:
        await produce(broker.client, broker.topics.ingress, [encode(e) for e in chunk],
                      [e.key.encode() for e in chunk], signer=key)

    async def stream() -> None:  # a steady flow of ~8 s, so the kill lands in the middle of it
        for start in range(1, N, 50):
            await send(envelopes[start:start + 50])
            await asyncio.sleep(0.12)

    with open(tmp_path / "router.log", "ab") as log:
        first = start_router(broker, db_url, log)
        await send(envelopes[:1])  # the stream starts once the router has joined its group
        assert len(await consume(broker.client, broker.topics.inbox("ndxp"), 1, timeout=60)) == 1
        streaming = asyncio.create_task(stream())
        try:
            for _ in range(600):
                delivered = await count_delivered(broker)
                if delivered >= N // 4:
                    break
                await asyncio.sleep(0.1)
            assert 0 < delivered < N, f"kill should land mid-stream, {delivered} delivered"
            first.send_signal(signal.SIGKILL)
            first.wait()
            second = start_router(broker, db_url, log)
            await streaming
            ids = await read_ids(broker.client, broker.topics.inbox("ndxp"), {e.id for e in envelopes}, timeout=120)
        finally:
            for process in (first, locals().get("second")):
                if process and process.poll() is None:
                    process.terminate()
                    process.wait(timeout=20)
    assert set(ids) == {e.id for e in envelopes}, (tmp_path / "router.log").read_text()[-3000:]
    assert len(ids) >= N  # duplicates allowed (at-least-once); receivers drop them by id
    # What the killed router had routed but not committed was read again by the new one: re-delivered, so
    # delivered, not refused as a replay (nor anything else).
    refused = [dead_letter(r) for r in await consume(broker.client, broker.topics.dlq, 1, timeout=2)]
    assert not refused, [letter["errors"] for letter in refused[:5]]
