"""The fixture library (tests/fixtures/*.jsonl): each file replays with the outcomes it was recorded with.

The fixtures are recorded from a real hub by tests/fixtures/make_fixtures.py; `lgsp-hub replay --embedded
--check` sends every message again to a fresh hub, on a broker of its own of each kind, and compares what
became of it, so a change to the schemas, the routing rules or the registrations that alters an outcome
fails here with a diff.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.testing.format import Fixture
from tests.support import ROOT
from tests.support.hubs import HubProcess

FIXTURES = ROOT / "tests" / "fixtures"
LIBRARY = sorted(FIXTURES.glob("*.jsonl"))
# The library was recorded on Bình Định's inventory before fixtures carried the recording hub's inventory.
RECORDED_ON = {"LGSP_INVENTORY": str(ROOT / "scenarios" / "binh-dinh-2023.toml")}


def lgsp_hub(*args: str, timeout: float = 240, **env: str) -> subprocess.CompletedProcess:
    """`lgsp-hub …` as a user runs it (LGSP_BROKER in `env`). The embedded replay must not reach an outside
    Kafka cluster."""
    environment = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "LGSP_SCHEMAS_DIR")}
    return subprocess.run([sys.executable, "-m", "hub", *args], cwd=ROOT, env={**environment, **env},
                          capture_output=True, text=True, timeout=timeout)


def rejections(fixtures: list[Fixture]) -> list[dict]:
    return [m.outcome.rejected for f in fixtures for m in f.messages if m.outcome.rejected]


@pytest.mark.parametrize("path", LIBRARY, ids=[p.stem for p in LIBRARY])
def test_fixture_replays_with_its_recorded_outcomes(path: Path, broker_kind):
    done = lgsp_hub("replay", str(path), "--embedded", "--check", LGSP_BROKER=broker_kind, **RECORDED_ON)
    assert done.returncode == 0, f"{path.name} no longer replays as recorded:\n{done.stdout}\n{done.stderr}"
    assert "mismatched 0" in done.stdout


def test_library_covers_the_required_cases():
    fixtures = {path.stem: Fixture.read(path) for path in LIBRARY}
    assert {"dossier-lifecycle", "citizen-verification", "bad-input", "ndxp-outage", "document-exchange"} <= set(fixtures)
    for name, fixture in fixtures.items():
        assert fixture.note, f"{name}: the header says what the fixture covers"
        assert 0 < len(fixture.messages) <= 50, f"{name}: a handful to a few dozen messages"
        assert all(m.outcome.delivered or m.outcome.rejected for m in fixture.messages), f"{name}: every outcome"

    refused = rejections(list(fixtures.values()))
    stages = {r["stage"] for r in refused}
    assert {"decode", "envelope", "schema", "routing"} <= stages
    schema_rules = {r["rule"] for r in refused if r["stage"] == "schema" and r["field"].startswith("payload")}
    assert {"required", "type", "enum", "x-personal-id", "format"} <= schema_rules
    rules = {(r["stage"], r["field"], r["rule"]) for r in refused}
    assert {("decode", "message", "maxBytes"), ("decode", "message", "json"), ("decode", "message", "type"),
            ("schema", "envelope.type", "knownType"), ("schema", "envelope.version", "knownVersion"),
            ("routing", "envelope.target", "knownTarget")} <= rules
    assert any(r["field"] == "payload.ChuHoSo.SoDinhDanh" and r["rule"] == "x-personal-id" for r in refused)
    assert any(r["field"] == "payload.NgayTiepNhan" and r["rule"] == "format" for r in refused)
    assert all(r.get("reason") for r in refused), "each rejection keeps its reason for people"
    lines = (FIXTURES / "bad-input.jsonl").read_text(encoding="utf-8").splitlines()[1:]
    kinds = {kind for line in lines for kind in ("message", "raw", "raw_base64") if kind in json.loads(line)}
    assert kinds == {"message", "raw", "raw_base64"}, "malformed JSON as raw text, non-UTF-8 bytes as base64"

    def of_type(fixture: Fixture, type: str) -> list[dict]:
        return [m.envelope for m in fixture.messages if (m.envelope or {}).get("type") == type]

    # One dossier's happy path, each event delivered to NDXP and the KPI view, a receipt for each.
    lifecycle = fixtures["dossier-lifecycle"]
    events = [m for m in lifecycle.messages if m.envelope["source"] == "mot-cua"]
    assert [m.envelope["type"] for m in events] == ["dossier.submitted", *["dossier.status_changed"] * 5,
                                                    "dossier.completed"]
    assert [m.envelope["payload"]["TrangThaiHoSo"] for m in events[1:6]] == [4, 5, 4, 9, 10]
    assert len({m.envelope["key"] for m in events}) == 1
    assert all(m.outcome.delivered == ("lgsp-kpi", "ndxp") for m in events)
    receipts = of_type(lifecycle, "ndxp.receipt")
    assert sorted(r["payload"]["MaThongDiep"] for r in receipts) == sorted(m.envelope["id"] for m in events)

    # Verification against the population stub: one match, one birth-date mismatch.
    replies = [e["payload"] for e in of_type(fixtures["citizen-verification"], "citizen.verify.reply")]
    assert any(r["KetQua"] == "khop" and r["KhopDuLieu"] for r in replies)
    assert any(r["KetQua"] == "sai_lech" and r["TruongSaiLech"] == ["NgaySinh"] for r in replies)

    # NDXP paused: every event still reaches its inbox; the receipts come only after the resume.
    outage = fixtures["ndxp-outage"]
    kinds_in_order = [m.envelope["type"] == "ndxp.receipt" for m in outage.messages]
    assert kinds_in_order == sorted(kinds_in_order) and any(kinds_in_order), "all events, then all receipts"
    assert all("ndxp" in m.outcome.delivered for m in outage.messages if m.envelope["source"] == "mot-cua")


def test_a_tightened_schema_fails_the_replay_and_names_the_field(tmp_path, broker_kind):
    """Done when: GhiChu of dossier.status_changed made required → the lifecycle no longer replays."""
    fixture = FIXTURES / "dossier-lifecycle.jsonl"
    schema = json.loads((ROOT / "schemas" / "dossier.status_changed" / "v1.json").read_text(encoding="utf-8"))
    assert "GhiChu" in schema["properties"] and "GhiChu" not in schema["required"]
    schema["required"].append("GhiChu")
    (tmp_path / "dossier.status_changed").mkdir()
    (tmp_path / "dossier.status_changed" / "v1.json").write_text(json.dumps(schema), encoding="utf-8")
    lacking = [m for m in Fixture.read(fixture).messages
               if m.envelope["type"] == "dossier.status_changed" and "GhiChu" not in m.envelope["payload"]]
    assert lacking, "the fixture must hold status changes without GhiChu"

    done = lgsp_hub("replay", str(fixture), "--embedded", "--check", LGSP_SCHEMAS_DIR=str(tmp_path), **RECORDED_ON,
                    LGSP_BROKER=broker_kind)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"mismatched {len(lacking)}" in done.stdout
    assert "payload.GhiChu" in done.stderr and "required" in done.stderr
    assert done.stderr.count("expected: delivered to lgsp-kpi, ndxp") == len(lacking)
    assert done.stderr.count("actual:   rejected at schema") == len(lacking)


def test_a_recorded_province_replays(tmp_path, broker):
    """Done when: a short run of the Bình Định province, recorded, replays on a broker of its own."""
    hub = HubProcess(tmp_path, broker, LGSP_STUBS="true", LGSP_SPEED="7200", LGSP_VOLUME="0.3").start()
    out = tmp_path / "binh-dinh.jsonl"
    try:
        recorded = lgsp_hub("record", "--out", str(out), "--hub", hub.url, "--duration", "6", **hub.tool_env)
    finally:
        hub.stop()
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    fixture = Fixture.read(out)
    types = {(m.envelope or {}).get("type") for m in fixture.messages}
    assert {"dossier.submitted", "citizen.verify.request", "citizen.verify.reply", "ndxp.receipt"} <= types
    assert {c["id"] for c in fixture.connectors} >= {"mot-cua", "csdl-dan-cu", "ndxp", "lgsp-kpi"}
    assert fixture.inventory["province"]["name"] == "Bình Định"  # replayed on it below, without LGSP_INVENTORY
    # Neither on the wire nor in the message log: ingress records the router never decided (1 of ~4,000 in
    # some runs: an open defect, docs/fixtures.md "Limits"); the replay leaves them unchecked.
    unseen = sum(1 for m in fixture.messages if not m.outcome.known)

    done = lgsp_hub("replay", str(out), "--embedded", "--check", LGSP_BROKER=broker.kind)
    assert done.returncode == 0, f"{len(fixture.messages)} messages:\n{done.stdout}\n{done.stderr[-5000:]}"
    assert f"sent {len(fixture.messages)} " in done.stdout and f"mismatched 0  unchecked {unseen} " in done.stdout
