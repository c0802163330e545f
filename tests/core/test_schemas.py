import copy

import pytest

from hub.core.schemas.registry import (
    Incompatible,
    InvalidSchema,
    SchemaRegistry,
    UnknownType,
    UnknownVersion,
    bundled_schemas_dir,
)
from hub.testing.samples import dossier_submitted_payload


@pytest.fixture(scope="module")
def registry():
    return SchemaRegistry.from_dirs(bundled_schemas_dir())


def test_bundled_types_are_loaded(registry):
    assert set(registry.types()) >= {
        "dossier.submitted", "dossier.status_changed", "dossier.completed",
        "citizen.verify.request", "citizen.verify.reply", "ndxp.receipt",
    }
    assert registry.versions("dossier.submitted") == [1]


def test_valid_dossier_passes(registry):
    assert registry.validate("dossier.submitted", 1, dossier_submitted_payload()) == []


def _errors(registry, edit):
    payload = copy.deepcopy(dossier_submitted_payload())
    edit(payload)
    return [(e.field, e.rule) for e in registry.validate("dossier.submitted", 1, payload)]


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda p: p.pop("MaTTHC"), ("payload.MaTTHC", "required")),
    (lambda p: p.update(KenhThucHien="2"), ("payload.KenhThucHien", "type")),
    (lambda p: p.update(KenhThucHien=4), ("payload.KenhThucHien", "enum")),
    (lambda p: p.update(MucDo="level4"), ("payload.MucDo", "enum")),
    (lambda p: p.update(NgayTiepNhan="15/11/2023"), ("payload.NgayTiepNhan", "format")),
    (lambda p: p.update(MaHoSo="H22-2311-1"), ("payload.MaHoSo", "pattern")),
    (lambda p: p["ChuHoSo"].update(SoDinhDanh="999190001234"), ("payload.ChuHoSo.SoDinhDanh", "x-personal-id")),
    (lambda p: p["ChuHoSo"].update(SoDinhDanh="05219000123"), ("payload.ChuHoSo.SoDinhDanh", "x-personal-id")),
    (lambda p: p["ChuHoSo"].update(NgaySinh="1985-01-01"), ("payload.ChuHoSo", "x-birth-year-matches")),
    (lambda p: p.update(Unknown=1), ("payload", "additionalProperties")),
])
def test_each_rule_names_field_and_rule(registry, edit, expected):
    assert expected in _errors(registry, edit)


def test_personal_id_error_says_why(registry):
    payload = dossier_submitted_payload(personal_id="003190001234")
    [error] = registry.validate("dossier.submitted", 1, payload)  # not also the pattern, which only quotes a regex
    assert "003" in error.message and "province code" in error.message


def test_a_pattern_error_stays_where_no_personal_id_rule_explains_it(registry):
    payload = dossier_submitted_payload()
    payload["ChuHoSo"]["MaSoDoanhNghiep"] = "12345"
    assert [(e.field, e.rule) for e in registry.validate("dossier.submitted", 1, payload)] == [
        ("payload.ChuHoSo.MaSoDoanhNghiep", "pattern")]


def test_unknown_type_and_version(registry):
    with pytest.raises(UnknownType):
        registry.validate("dossier.deleted", 1, {})
    with pytest.raises(UnknownVersion):
        registry.validate("dossier.submitted", 9, {})


def test_next_version_accepts_optional_field_and_refuses_required(registry):
    local = SchemaRegistry.from_dirs(bundled_schemas_dir())
    schema = copy.deepcopy(local.schema("dossier.submitted", 1))
    schema["properties"]["GhiChu"] = {"type": "string"}
    assert local.next_version("dossier.submitted", schema) == 2
    local.put("dossier.submitted", 2, schema)
    stricter = copy.deepcopy(schema)
    stricter["required"].append("GhiChu")
    with pytest.raises(Incompatible) as caught:
        local.next_version("dossier.submitted", stricter)
    assert caught.value.changes == ["$.GhiChu: new required field"]


def test_invalid_schema_is_refused(registry):
    with pytest.raises(InvalidSchema):
        registry.check("x.y", {"type": "no-such-type"})


def test_every_bundled_schema_declares_draft_2020_12(registry):
    for type in registry.types():
        assert registry.schema(type, 1)["$schema"].endswith("2020-12/schema")


def test_error_messages_never_quote_a_whole_personal_id(registry):
    payload = dossier_submitted_payload(personal_id="05219000123X")
    payload["ChuHoSo"]["MaSoDoanhNghiep"] = "05219000123X"  # its pattern error quotes the value
    payload["ChuHoSo"]["SoCMND"] = "123456789"  # not allowed on ChuHoSo: additionalProperties
    messages = " ".join(e.message for e in registry.validate("dossier.submitted", 1, payload))
    assert "05219000123" not in messages and "052*****123X" in messages
