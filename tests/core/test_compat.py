import copy

from hub.core.schemas.compat import breaking_changes

BASE = {
    "type": "object",
    "required": ["MaHoSo"],
    "properties": {
        "MaHoSo": {"type": "string", "maxLength": 40},
        "KenhThucHien": {"type": "integer", "enum": [1, 2, 3]},
        "GhiChu": {"type": "string"},
        "ChuHoSo": {"type": "object", "properties": {"HoVaTen": {"type": "string"}}},
    },
}


def changed(edit):
    new = copy.deepcopy(BASE)
    edit(new)
    return breaking_changes(BASE, new)


def test_identical_and_new_optional_field_are_compatible():
    assert breaking_changes(BASE, copy.deepcopy(BASE)) == []
    assert changed(lambda s: s["properties"].update(NgayTra={"type": "string"})) == []


def test_widening_is_compatible():
    assert changed(lambda s: s["properties"]["KenhThucHien"].update(enum=[1, 2, 3, 4])) == []
    assert changed(lambda s: s["properties"]["MaHoSo"].update(maxLength=80)) == []
    assert changed(lambda s: s["properties"]["GhiChu"].update(type=["string", "null"])) == []
    assert changed(lambda s: s.update(required=[])) == []


def test_new_required_field_is_breaking():
    assert changed(lambda s: s["required"].append("GhiChu")) == ["$.GhiChu: new required field"]


def test_removed_field_is_breaking():
    assert changed(lambda s: s["properties"].pop("GhiChu")) == ["$.GhiChu: field removed"]


def test_narrowed_type_enum_and_bounds_are_breaking():
    assert "type narrowed" in changed(lambda s: s["properties"]["GhiChu"].update(type="integer"))[0]
    assert "values [3] removed" in changed(lambda s: s["properties"]["KenhThucHien"].update(enum=[1, 2]))[0]
    assert "maxLength tightened" in changed(lambda s: s["properties"]["MaHoSo"].update(maxLength=20))[0]
    assert "pattern changed" in changed(lambda s: s["properties"]["GhiChu"].update(pattern="^a"))[0]
    assert "additionalProperties closed" in changed(lambda s: s.update(additionalProperties=False))[0]


def test_nested_objects_are_compared():
    result = changed(lambda s: s["properties"]["ChuHoSo"].update(required=["HoVaTen"]))
    assert result == ["$.ChuHoSo.HoVaTen: new required field"]


def test_shared_definitions_are_compared():
    old = {"$defs": {"Code": {"type": "string"}}, "properties": {"a": {"$ref": "#/$defs/Code"}}}
    new = {"$defs": {"Code": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/Code"}}}
    assert "type narrowed" in breaking_changes(old, new)[0]
