"""What the message log keeps of a message: payload mode per type, personal IDs as keyed hashes."""

from __future__ import annotations

import hashlib

import orjson
import pytest

from hub.audit.content import Keeping, PayloadModes, SubjectKey, personal_ids, personal_ids_in, subject_hash
from hub.audit.decisions import Decision
from hub.core import personal_id
from hub.testing.samples import dossier_submitted_payload

CITIZEN = personal_id.make("052", 1990, True, 1234)
RELATIVE = personal_id.make("001", 1962, False, 77)
PEPPER = bytes(range(32))


def test_a_type_takes_the_most_specific_pattern_and_unmatched_types_are_metadata():
    modes = PayloadModes({"dossier.*": "full", "dossier.status.*": "none", "citizen.verify.request": "none",
                          "*.receipt": "metadata"})
    assert modes.mode("dossier.submitted") == "full"
    assert modes.mode("dossier.status.changed") == "none"
    assert modes.mode("citizen.verify.request") == "none"
    assert modes.mode("ndxp.receipt") == "metadata"
    assert modes.mode("citizen.verify.reply") == "metadata"
    assert modes.mode(None) == "metadata"  # a message refused before its type was read
    assert PayloadModes({"*": "none"}).mode(None) == "none"


def test_the_mode_of_a_type_is_worked_out_once():
    modes = PayloadModes({"dossier.*": "full"})
    assert modes.mode("dossier.submitted") == "full"
    modes._patterns.clear()  # noqa: SLF001 - a second lookup must not match patterns again
    assert modes.mode("dossier.submitted") == "full"


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="everything"):
        PayloadModes({"dossier.*": "everything"})


def test_personal_ids_are_found_anywhere_in_the_payload_and_nothing_else_is():
    payload = {"ChuHoSo": {"SoDinhDanh": CITIZEN, "DienThoai": "0905123456"},
               "ThanhPhan": [{"NguoiLienQuan": [{"SoDinhDanh": RELATIVE}]}, "999000000001"],
               "SoTien": 120000000000, "GhiChu": f"CCCD {CITIZEN}"}
    assert personal_ids(payload) == {CITIZEN, RELATIVE}  # 999 is no province; numbers and prose are not IDs
    assert personal_ids_in(orjson.dumps(payload)) == {CITIZEN, RELATIVE}  # the same, read from the text
    escaped = orjson.dumps(payload).replace(CITIZEN.encode(), "\\u0030".encode() + CITIZEN[1:].encode())
    assert personal_ids_in(escaped) == {CITIZEN, RELATIVE}  # digits spelt as escapes are still read


def test_subject_hashes_are_keyed_not_plain_sha256():
    hashed = subject_hash(PEPPER, CITIZEN)
    assert hashed == subject_hash(PEPPER, CITIZEN) and len(hashed) == 64
    assert hashed != hashlib.sha256(CITIZEN.encode()).hexdigest()
    assert hashed != subject_hash(bytes(32), CITIZEN)  # another hub, another pepper
    for pepper in (PEPPER, b"k" * 64, b"long" * 40):  # the writer's precomputed key agrees with hmac
        assert SubjectKey(pepper).hash(CITIZEN) == subject_hash(pepper, CITIZEN)


def decision_of(payload: dict, type: str = "dossier.submitted", key: str | None = "K-1") -> Decision:
    raw = orjson.dumps({"type": type, "key": key, "payload": payload})
    return Decision("00000000-0000-7000-8000-000000000001", type, 1, "mot-cua", ("ndxp",), "delivered", None,
                    None, None, key, None, 1700000000.0, raw=raw)


@pytest.mark.parametrize("mode", ["metadata", "full", "none"])
def test_each_mode_keeps_what_it_says(mode):
    payload = dossier_submitted_payload(personal_id=CITIZEN)
    d = decision_of(payload)
    entry = Keeping(PayloadModes({"dossier.*": mode}), PEPPER).entry(d)
    digest = entry.values[10]
    if mode == "none":
        assert (digest, entry.payload, entry.subjects) == ("", None, ())
    else:
        assert digest == hashlib.sha256(d.raw).hexdigest()
        assert entry.subjects == (subject_hash(PEPPER, CITIZEN),)
        assert entry.payload == (d.raw.decode() if mode == "full" else None)


def test_a_message_refused_before_its_envelope_is_still_searched_and_an_id_key_counts():
    d = decision_of({"SoDinhDanh": CITIZEN}, key=RELATIVE)._replace(type=None)
    entry = Keeping(PayloadModes(), PEPPER).entry(d)
    assert set(entry.subjects) == {subject_hash(PEPPER, CITIZEN), subject_hash(PEPPER, RELATIVE)}
    garbage = d._replace(raw=b"\xff\x00not json", key=None)
    assert Keeping(PayloadModes({"*": "full"}), PEPPER).entry(garbage).payload == "\ufffd\ufffdnot json"
