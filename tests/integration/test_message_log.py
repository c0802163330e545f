"""Every routing decision is in the message log; `lgsp-hub audit verify` catches tampering."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import sqlalchemy as sa

from hub.envelope import encode
from hub.store import Store, message_log
from hub.testing import dossier_submitted
from tests.conftest import ROOT, HubProcess
from tests.integration.test_sdk import eventually

MOT_CUA = {"id": "mot-cua", "name": "Một cửa", "agency": "000.00.18.H22", "produces": ["dossier.submitted"]}
NDXP = {"id": "ndxp", "name": "NDXP", "agency": "VPCP", "level": "national", "consumes": ["dossier.submitted"]}


def audit(db_url: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hub", "audit", "verify"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "LGSP_DATABASE_URL": db_url})


async def test_decisions_are_logged_queryable_and_tamper_evident(tmp_path):
    hub = HubProcess(tmp_path).start()
    try:
        for spec in (MOT_CUA, NDXP):
            httpx.post(f"{hub.url}/v1/connectors", json=spec).raise_for_status()
        sent = [dossier_submitted(counter=i) for i in range(5)]
        for envelope in sent:
            assert httpx.post(f"{hub.url}/v1/messages", content=encode(envelope)).status_code == 202
        refused = dossier_submitted(target="nobody")
        assert httpx.post(f"{hub.url}/v1/messages", content=encode(refused)).status_code == 422

        def logged(envelope) -> list:
            response = httpx.get(f"{hub.url}/v1/messages/{envelope.id}")
            return response.json()["decisions"] if response.status_code == 200 else []
        await eventually(lambda: all(logged(e) for e in sent), what="every routing decision in the log")
        [delivered] = logged(sent[0])
        assert delivered["outcome"] == "delivered" and set(delivered["targets"]) == {"lgsp-kpi", "ndxp"}
        assert len(delivered["payload_sha256"]) == 64 and "payload" not in delivered
        [rejected] = logged(refused)
        assert (rejected["outcome"], rejected["stage"]) == ("rejected", "routing")
        by_key = httpx.get(f"{hub.url}/v1/messages", params={"key": sent[2].key}).json()["decisions"]
        assert [d["message_id"] for d in by_key] == [str(sent[2].id)]
        assert httpx.get(f"{hub.url}/v1/messages/{refused.correlation_id}").status_code == 404
        assert httpx.get(f"{hub.url}/v1/messages").status_code == 422
    finally:
        hub.stop()
    db_url = hub.env["LGSP_DATABASE_URL"]
    intact = audit(db_url)
    assert intact.returncode == 0 and "records verified" in intact.stdout
    store = Store(db_url)
    with store.engine.begin() as conn:
        seq = conn.execute(sa.select(message_log.c.seq).where(message_log.c.message_id == str(sent[1].id))).scalar()
        conn.execute(sa.update(message_log).where(message_log.c.seq == seq).values(source="gia-mao"))
    store.close()
    broken = audit(db_url)
    assert broken.returncode == 1 and f"seq={seq}" in broken.stderr and str(sent[1].id) in broken.stderr
