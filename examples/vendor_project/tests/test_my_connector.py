"""Acceptance tests of a connector vendor's dossier-system build, run against a real hub.

Needs only `pip install lgsp-hub pytest`: its pytest plugin starts the hub once per session. The fixture
`fixtures/mot_cua_dossiers.jsonl` was recorded with `lgsp-hub record` while this build sent three dossiers
and one with an invalid `KenhThucHien`; its header registers `mot-cua` and `ndxp` before the replay.
"""

import json
import os
from pathlib import Path

import httpx
import pytest

from hub.testing.pytest_plugin import assert_outcomes

FIXTURE = Path(__file__).parent / "fixtures" / "mot_cua_dossiers.jsonl"


def test_recorded_dossiers_end_as_recorded(lgsp_replay):
    result = lgsp_replay(FIXTURE)
    summary = assert_outcomes(result)
    assert (summary["sent"], summary["delivered"], summary["rejected"]) == (4, 3, 1)
    refused = result.replayed[-1].actual.rejected
    assert (refused["stage"], refused["field"], refused["rule"]) == ("schema", "payload.KenhThucHien", "enum")


def test_a_changed_message_is_reported_with_a_diff(lgsp_replay, tmp_path):
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    second = json.loads(lines[2])  # line 0 is the header
    second["message"]["payload"]["MucDo"] = "online"  # not one of toan_trinh, mot_phan, truc_tiep
    lines[2] = json.dumps(second, ensure_ascii=False)
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("\n".join(lines) + "\n", encoding="utf-8")

    with pytest.raises(AssertionError) as failure:
        assert_outcomes(lgsp_replay(tampered))
    report = str(failure.value)
    assert "1 of 4 replayed messages did not end as recorded" in report
    assert "message #2 (dossier.submitted 000.00.01.H22-231115-0002, at 349 ms):" in report
    assert "expected: delivered to ndxp" in report
    assert "actual:   rejected at schema: payload.MucDo" in report and "[rule: enum]" in report


def test_my_connector_registers(lgsp_hub):
    lgsp_hub.register({"id": "mot-cua-test", "name": "Một cửa điện tử (CI)", "agency": "000.00.01.H22",
                       "produces": ["dossier.submitted"]})
    assert "mot-cua-test" in httpx.get(f"{lgsp_hub.url}/v1/connectors").json()
    assert lgsp_hub.bootstrap_servers.startswith("127.0.0.1:")
    health = httpx.get(f"{lgsp_hub.url}/v1/health").json()["broker"]
    assert health["managed"] and health["kind"] == os.environ.get("LGSP_BROKER", "kafka")  # its own broker
