"""A real hub process on a PostgreSQL store: registration over HTTP, read back; `lgsp-hub audit verify` on it."""

from __future__ import annotations

import httpx

from hub.store import Store
from tests.support.connectors import MOT_CUA, NDXP
from tests.support.hubs import OPERATOR, HubProcess, audit


def test_the_hub_runs_on_postgresql(tmp_path, postgres_url, broker):
    hub = HubProcess(tmp_path, broker, LGSP_DATABASE_URL=postgres_url).start()
    try:
        health = httpx.get(f"{hub.url}/v1/health", timeout=10).json()
        assert health["checks"]["store"] is True
        hub.register(MOT_CUA)
        hub.register(NDXP)
        shown = httpx.get(f"{hub.url}/v1/connectors/ndxp", headers=OPERATOR, timeout=10)
        shown.raise_for_status()
        assert shown.json()["name"] == "NDXP" and shown.json()["consumes"] == ["dossier.submitted"]
        assert {"mot-cua", "ndxp"} <= set(httpx.get(f"{hub.url}/v1/connectors", timeout=10).json())
        credentials = httpx.get(f"{hub.url}/v1/connectors/mot-cua/credentials", headers=OPERATOR, timeout=10).json()
        assert len(credentials) == 1 and credentials[0]["expires_at"] is None
    finally:
        assert hub.stop() == 0, hub.log.read_text()[-3000:]

    store = Store(postgres_url)  # what the hub wrote is in PostgreSQL
    try:
        assert store.connector("mot-cua")["name"] == "Một cửa điện tử"
        assert store.connectivity_samples()  # the operator view's first sample
    finally:
        store.close()
    intact = audit(postgres_url)
    assert intact.returncode == 0 and "records verified" in intact.stdout, intact.stderr
