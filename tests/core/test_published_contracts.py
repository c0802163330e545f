"""The published schemas mean what the hub enforces.

A vendor generates or checks payloads with standard tools that know nothing of the hub's keywords. Here
payloads are generated from each bundled schema with hypothesis-jsonschema and kept when the `jsonschema`
package (Draft 2020-12, formats asserted) accepts them: the hub must accept them too, except by the rules
standard JSON Schema cannot state, which are documented in schemas/vocabulary/lgsp.json and each schema's
`$comment`: the birth year of a personal ID against the birth date beside it, and a birth year in the future.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import jsonschema
import orjson
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from hub.core import personal_id
from hub.core.rejection import FieldError
from hub.core.schemas.keywords import KEYWORDS
from hub.core.schemas.registry import SchemaRegistry, bundled_schemas_dir, compile_schema, read_schema_dir

BUNDLED = {type: schema for type, _, schema in read_schema_dir(bundled_schemas_dir())}
VOCABULARY = orjson.loads((bundled_schemas_dir() / "vocabulary" / "lgsp.json").read_bytes())
REGISTRY = SchemaRegistry.from_dirs(bundled_schemas_dir())
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER
# hypothesis-jsonschema has no strategy of its own for `format: uuid` (ndxp.receipt's MaThongDiep).
CUSTOM_FORMATS = {"uuid": st.uuids().map(str)}
# A score of payloads per schema: hypothesis-jsonschema builds its strategies anew on each draw, so a
# few hundred would take minutes, and so would shrinking a failure: the payload is reported as drawn.
GENERATED = settings(max_examples=20, derandomize=True, database=None, deadline=None,
                     phases=[Phase.explicit, Phase.generate],
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _subschemas(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for child in node.values():
            yield from _subschemas(child)
    elif isinstance(node, list):
        for child in node:
            yield from _subschemas(child)


def hub_rule(error: FieldError) -> str | None:
    """The documented rule beyond standard JSON Schema that `error` reports, or None."""
    if error.rule == "x-birth-year-matches":
        return "birth year vs birth date"
    if error.rule == "x-personal-id" and "in the future" in error.message:
        return "birth year in the future"
    return None


def test_the_standard_validator_asserts_every_format_the_schemas_use():
    # Without rfc3339-validator `jsonschema` silently skips date-time, and the check below would prove nothing.
    used = {node["format"] for schema in BUNDLED.values() for node in _subschemas(schema) if "format" in node}
    assert used and used <= set(FORMATS.checkers), used - set(FORMATS.checkers)
    assert not jsonschema.Draft202012Validator({"format": "date-time"}, format_checker=FORMATS).is_valid(
        "2023-11-15 08:30")


def test_every_personal_id_pattern_is_the_one_built_from_the_province_codes():
    ids = [(type, node) for type, schema in BUNDLED.items() for node in _subschemas(schema)
           if node.get("x-personal-id")]
    assert {type for type, _ in ids} >= {"dossier.submitted", "citizen.verify.request"}
    for type, node in ids:
        assert node.get("pattern") == personal_id.pattern(), f"{type}: run the pattern from hub/core/personal_id.py"


def test_each_schema_using_a_cross_field_rule_says_so_at_the_top():
    for type, schema in BUNDLED.items():
        if any("x-birth-year-matches" in node for node in _subschemas(schema)):
            assert "x-birth-year-matches" in schema.get("$comment", ""), type
            assert "urn:lgsp:vocab:domain" in schema["$comment"], type


def test_the_vocabulary_describes_exactly_the_hub_keywords_and_every_schema_conforms():
    jsonschema.Draft202012Validator.check_schema(VOCABULARY)
    assert VOCABULARY["$vocabulary"]["urn:lgsp:vocab:domain"] is False  # optional: patterns say what they can
    assert set(VOCABULARY["properties"]) == set(KEYWORDS)
    assert all(VOCABULARY["properties"][keyword].get("description") for keyword in KEYWORDS)
    meta = jsonschema.Draft202012Validator(VOCABULARY)
    for type, schema in BUNDLED.items():
        assert meta.is_valid(schema), [error.message for error in meta.iter_errors(schema)]
        assert {key for node in _subschemas(schema) for key in node if key.startswith("x-")} <= set(KEYWORDS)
    assert not meta.is_valid({"properties": {"SoDinhDanh": {"x-personal-id": "yes"}}})


def test_the_registry_does_not_take_the_vocabulary_for_a_message_type():
    assert "vocabulary" not in REGISTRY.types() and set(REGISTRY.types()) == set(BUNDLED)


@pytest.mark.parametrize("type", sorted(BUNDLED))
def test_payloads_a_standard_validator_accepts_pass_the_hub(type):
    standard = jsonschema.Draft202012Validator(BUNDLED[type], format_checker=FORMATS)
    refused: Counter[str] = Counter()

    @GENERATED
    @given(from_schema(BUNDLED[type], custom_formats=CUSTOM_FORMATS))
    def check(payload):
        assume(standard.is_valid(payload))
        errors = REGISTRY.validate(type, 1, payload)
        assert [error for error in errors if hub_rule(error) is None] == []
        refused.update(hub_rule(error) for error in errors)

    check()
    print(f"{type}: refused by the hub's documented rules only: {dict(refused)}")  # shown with pytest -rP


# Each definition once, though the dossier schemas repeat MaHoSo, CoQuan and ThoiDiem word for word.
SHARED = sorted({orjson.dumps(schema["$defs"][name], option=orjson.OPT_SORT_KEYS): (type, name)
                 for type, schema in sorted(BUNDLED.items(), reverse=True) for name in schema.get("$defs", {})}.values())


@pytest.mark.parametrize(("type", "name"), SHARED, ids=[f"{type}-{name}" for type, name in SHARED])
def test_values_of_each_shared_definition_pass_the_hub(type, name):
    definition = {"$defs": BUNDLED[type]["$defs"], "$ref": f"#/$defs/{name}"}
    standard = jsonschema.Draft202012Validator(definition, format_checker=FORMATS)
    hub = compile_schema(definition)

    @GENERATED
    @given(from_schema(definition, custom_formats=CUSTOM_FORMATS))
    def check(value):
        assume(standard.is_valid(value))
        assert hub.is_valid(value), [error.message for error in hub.iter_errors(value)]

    check()
