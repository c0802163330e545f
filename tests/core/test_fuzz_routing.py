"""Property tests of the routing decision and the compatibility rules with generated inputs.

Whatever arrives on the ingress topic, `route` answers with a Delivery or a Rejection that names the
field and the rule; it never raises (a raise would stop a router worker). `breaking_changes` and the
registry's check never raise on schema-shaped input either: only InvalidSchema, which the API answers 422.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.core.directory import ConnectorSpec, Directory
from hub.core.envelope import encode
from hub.core.rejection import FieldError, Rejection
from hub.core.routing import Delivery, route
from hub.core.schemas.compat import breaking_changes
from hub.core.schemas.registry import InvalidSchema, SchemaRegistry, bundled_schemas_dir, compile_schema
from hub.testing.samples import dossier_submitted

MAX_BYTES = 1_000_000
SCHEMAS = SchemaRegistry.from_dirs(bundled_schemas_dir())
DIRECTORY = Directory.of([
    ConnectorSpec(id="mot-cua", name="Một cửa", agency="000.00.01.H22",
                  produces=["dossier.submitted", "citizen.verify.request"], consumes=["citizen.verify.reply"]),
    ConnectorSpec(id="ndxp", name="NDXP", agency="NDXP", level="national",
                  consumes=["dossier.submitted"], produces=["ndxp.receipt"]),
    ConnectorSpec(id="csdl-dan-cu", name="CSDL dân cư", agency="BCA", level="national",
                  consumes=["citizen.verify.request"], produces=["citizen.verify.reply"]),
])
VALID = orjson.loads(encode(dossier_submitted()))
STAGES = {"decode", "envelope", "schema", "routing"}

FUZZ = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
TRIED: Counter[str] = Counter()  # inputs tried per property, reported at the end of the module


@pytest.fixture(scope="module", autouse=True)
def report_inputs_tried(request):
    yield
    total = sum(TRIED.values())
    line = f"test_fuzz_routing: {total} inputs tried: " + ", ".join(f"{k}={v}" for k, v in sorted(TRIED.items()))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("\n" + line)


def assert_decided(raw: bytes, max_bytes: int = MAX_BYTES) -> Delivery | Rejection:
    outcome = route(raw, SCHEMAS, DIRECTORY, max_bytes)  # the property: never raises
    assert isinstance(outcome, (Delivery, Rejection)), outcome
    if isinstance(outcome, Delivery):
        assert outcome.targets and all(t in DIRECTORY.connectors for t in outcome.targets)
        assert SCHEMAS.validate(outcome.envelope.type, outcome.envelope.version, outcome.envelope.payload) == []
        return outcome
    assert outcome.stage in STAGES, outcome
    assert outcome.reason.strip(), outcome
    assert outcome.errors, outcome
    assert any(e.field.startswith(("message", "envelope", "payload")) for e in outcome.errors), outcome
    for error in outcome.errors:
        assert isinstance(error, FieldError)
        assert error.field.startswith(("message", "envelope", "payload")), error
        assert error.rule and error.message, error
    prefix = {"decode": ("message",), "envelope": ("envelope",), "schema": ("payload", "envelope"),
              "routing": ("envelope",)}[outcome.stage]
    assert all(e.field.startswith(prefix) for e in outcome.errors), outcome
    json.dumps(outcome.reason), orjson.dumps([e.message for e in outcome.errors])  # DLQ headers can carry them
    return outcome


# --- generators --------------------------------------------------------------------------------------

ODD_STRINGS = st.sampled_from([
    "", " ", "\x00", "\t\n", "null", "NaN", "Infinity", "-0", "1e309", "٣", "²", "1_000", "0x1F", "١٢٣٤٥٦٧٨٩٠١٢",
    "052090001234\n", " 052090001234", "ＭＯＴ-ＣＵＡ", "mot-cua\n", "MOT-CUA", "mot cua", "../../etc/passwd",
    "dossier.submitted ", "Dossier.Submitted", "dossier..submitted", "a" * 300, "x" * 5000, "é" * 129,
    "\u202emot-cua", "\ufeff{}", "😀" * 50, "\udcff",
    "2023-02-30", "2023-11-15T08:30:00", "2023-11-15T25:61:00+07:00", "9999-12-31T23:59:59+14:00",
    "0000-01-01T00:00:00Z", "00000000-0000-0000-0000-000000000000", "{not a uuid}", "<script>", "%00", "' OR 1=1 --",
])
HUGE_NUMBERS = st.sampled_from([2**63, 2**64, -(2**63) - 1, 10**30, -(10**30), 1e308, -1e308, 5e-324, -0.0,
                                0, -1, 1.5, 1e16, 2**53 + 1])
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=40) | ODD_STRINGS | HUGE_NUMBERS)
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=5)
                           | st.dictionaries(st.text(max_size=10) | ODD_STRINGS, inner, max_size=5), max_leaves=25)


def dumps(value: Any) -> bytes:
    """Stdlib JSON: unlike orjson it writes integers beyond 64 bits (and NaN, for the decode stage)."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def deep(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def splice(value: dict, marker: str, replacement: str) -> bytes:
    """Serialise `value` with a placeholder string swapped for raw JSON text (nesting beyond any encoder)."""
    return dumps(value).replace(json.dumps(marker).encode(), replacement.encode())


DEEP = "\x00deep\x00"


# --- route: arbitrary input --------------------------------------------------------------------------

@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_are_decided(raw):
    TRIED["bytes"] += 1
    assert_decided(raw)


@FUZZ
@given(st.binary(max_size=300), st.integers(min_value=0, max_value=400))
def test_size_limit_is_a_decode_rejection(raw, max_bytes):
    TRIED["bytes+limit"] += 1
    outcome = assert_decided(raw, max_bytes)
    if len(raw) > max_bytes:
        assert outcome.stage == "decode" and outcome.errors[0].rule == "maxBytes"


@FUZZ
@given(JSON_VALUES)
def test_arbitrary_json_values_are_decided(value):
    TRIED["json"] += 1
    outcome = assert_decided(dumps(value))
    if not isinstance(value, dict):
        assert isinstance(outcome, Rejection) and outcome.stage == "decode"


@FUZZ
@given(st.sampled_from(["[", "{", '{"a":', '"', "1e999999", "NaN", "-", "01", "\ufeff{}", "{}garbage"]),
       st.integers(min_value=0, max_value=3000))
def test_truncated_and_deeply_nested_json_is_decided(fragment, depth):
    TRIED["json-deep"] += 1
    assert_decided(fragment.encode() * (depth % 7 + 1))
    assert_decided(deep(depth).encode())
    assert_decided(('{"a":' * depth + "1" + "}" * depth).encode())
    assert isinstance(assert_decided(splice({**VALID, "payload": DEEP}, DEEP, deep(depth, "{}"))), Rejection)


# --- route: envelope-shaped dicts ----------------------------------------------------------------------

ENVELOPE_FIELDS = list(VALID)
JUNK = (JSON_VALUES | ODD_STRINGS | HUGE_NUMBERS
        | st.integers(min_value=1, max_value=2000).map(lambda n: DEEP + str(n)))


@st.composite
def envelope_shaped(draw) -> bytes:
    data = copy.deepcopy(VALID)
    for name in draw(st.lists(st.sampled_from(ENVELOPE_FIELDS), min_size=1, max_size=4, unique=True)):
        action = draw(st.sampled_from(["replace", "replace", "replace", "delete"]))
        if action == "delete":
            data.pop(name)
        else:
            data[name] = draw(JUNK)
    if draw(st.booleans()):
        data[draw(st.text(max_size=12) | ODD_STRINGS)] = draw(JUNK)  # unknown (or clobbered) field
    raw = dumps(data)
    for value in [v for v in data.values() if isinstance(v, str) and v.startswith(DEEP)]:
        raw = raw.replace(json.dumps(value).encode(), deep(int(value[len(DEEP):]), "{}").encode())
    return raw


@FUZZ
@given(envelope_shaped())
def test_envelope_shaped_junk_is_decided(raw):
    TRIED["envelope"] += 1
    assert_decided(raw)


@FUZZ
@given(st.sampled_from(ENVELOPE_FIELDS), st.one_of(ODD_STRINGS, HUGE_NUMBERS))
def test_one_odd_envelope_field_is_refused_at_the_envelope_or_later(name, value):
    TRIED["envelope-one"] += 1
    outcome = assert_decided(dumps({**VALID, name: value}))
    if name in ("id", "occurred_at", "payload", "version") and isinstance(outcome, Rejection) \
            and outcome.stage != "decode":  # a lone surrogate is not UTF-8: refused before the envelope
        # lax pydantic turns "2" or " 2\n" into the version 2: an unknown version is then a schema rejection
        assert outcome.stage == "envelope" or (name, outcome.stage) == ("version", "schema"), outcome
        assert outcome.errors[0].field.startswith(f"envelope.{name}"), outcome


# --- route: valid dossiers with one payload field mutated --------------------------------------------

def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    paths = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            paths += _paths(item, (*prefix, key))
    return paths


PAYLOAD_PATHS = _paths(VALID["payload"])
UNICODE = st.text(st.characters(codec="utf-8"), min_size=1, max_size=60) | st.sampled_from(
    ["Nguyễn Thị Lan", "ǸĞƯỄŃ", "\u0301\u0301\u0301", "𝓝𝓰𝓾𝔂𝓮̂̃𝓷", "\u200b", "ﷺ", "١٩٩٠-٠٤-١٢", "0５2090001234"])
WRONG_TYPES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.just([]),
                        st.just({}), st.lists(st.integers(), max_size=3), HUGE_NUMBERS)


@st.composite
def mutated_dossier(draw) -> tuple[str, bytes]:
    data = copy.deepcopy(VALID)
    path = draw(st.sampled_from(PAYLOAD_PATHS))
    parent = data["payload"]
    for key in path[:-1]:
        parent = parent[key]
    mutation = draw(st.sampled_from(["delete", "wrong type", "random string", "deep nesting", "unicode", "junk"]))
    depth = 0
    if mutation == "delete":
        del parent[path[-1]]
    elif mutation == "wrong type":
        parent[path[-1]] = draw(WRONG_TYPES)
    elif mutation == "random string":
        parent[path[-1]] = draw(st.text(max_size=80) | ODD_STRINGS)
    elif mutation == "unicode":
        parent[path[-1]] = draw(UNICODE)
    elif mutation == "junk":
        parent[path[-1]] = draw(JSON_VALUES)
    else:
        depth = draw(st.integers(min_value=1, max_value=1500))
        parent[path[-1]] = DEEP
    raw = splice(data, DEEP, deep(depth, draw(st.sampled_from(['"x"', "{}", "1"])))) if depth else dumps(data)
    return f"{'.'.join(path)}:{mutation}", raw


@FUZZ
@given(mutated_dossier())
def test_dossier_with_one_payload_field_mutated_is_decided(case):
    TRIED["dossier-mutated"] += 1
    what, raw = case
    outcome = assert_decided(raw)
    if isinstance(outcome, Rejection):
        assert outcome.stage in ("decode", "schema"), (what, outcome)


def test_valid_dossier_is_delivered():
    outcome = assert_decided(encode(dossier_submitted()))
    assert isinstance(outcome, Delivery) and outcome.targets == ("ndxp",)


# --- compatibility ----------------------------------------------------------------------------------

KEYWORD_VALUES = {
    "type": st.sampled_from(["string", "integer", "number", "object", "array", "boolean", "null"])
    | st.lists(st.sampled_from(["string", "integer", "number", "null"]), max_size=3, unique=True),
    "enum": st.lists(SCALARS, min_size=1, max_size=4),
    "const": SCALARS,
    "minimum": st.integers(-5, 5) | st.floats(-5, 5), "maximum": st.integers(-5, 5),
    "exclusiveMinimum": st.integers(-5, 5), "exclusiveMaximum": st.floats(-5, 5),
    "minLength": st.integers(0, 5), "maxLength": st.integers(0, 50), "minItems": st.integers(0, 3),
    "maxItems": st.integers(0, 9), "minProperties": st.integers(0, 3), "maxProperties": st.integers(0, 9),
    "pattern": st.sampled_from(["^a", "^[0-9]{12}$", ".*", "b$"]),
    "format": st.sampled_from(["date", "date-time", "email"]),
    "multipleOf": st.sampled_from([1, 2, 0.5]), "x-personal-id": st.booleans(),
    "x-birth-year-matches": st.just(["SoDinhDanh", "NgaySinh"]),
    "additionalProperties": st.booleans(),
    "required": st.lists(st.sampled_from(["a", "b", "MaHoSo", "ChuHoSo"]), max_size=3, unique=True),
    "$ref": st.sampled_from(["#/$defs/a", "#", "http://127.0.0.1:9/remote.json", "urn:nowhere"]),
}
SCHEMA_KEYS = st.sampled_from([*KEYWORD_VALUES, "properties", "items", "$defs"]) | st.text(max_size=8)


def schema_shaped(leaf_junk: bool) -> st.SearchStrategy:
    """Dicts made of JSON Schema keywords; with `leaf_junk`, any keyword may hold any JSON value."""
    def node(children: st.SearchStrategy) -> st.SearchStrategy:
        def value_for(key: str) -> st.SearchStrategy:
            if key in ("properties", "$defs"):
                good = st.dictionaries(st.sampled_from(["a", "b", "MaHoSo", "ChuHoSo"]), children, max_size=3)
            elif key == "items":
                good = children
            else:
                good = KEYWORD_VALUES.get(key, JSON_VALUES)
            return good | JSON_VALUES if leaf_junk else good
        return st.lists(SCHEMA_KEYS, max_size=6, unique=True).flatmap(
            lambda keys: st.fixed_dictionaries({k: value_for(k) for k in keys}))
    leaves = st.just({}) | st.booleans() | (JSON_VALUES if leaf_junk else st.nothing())
    return node(st.recursive(leaves, node, max_leaves=10))  # a dict at the top, anything below


SCHEMA_LIKE = schema_shaped(leaf_junk=False)
SCHEMA_JUNK = schema_shaped(leaf_junk=True)


@FUZZ
@given(SCHEMA_JUNK | SCHEMA_LIKE, SCHEMA_JUNK | SCHEMA_LIKE)
def test_breaking_changes_never_raises(old, new):
    TRIED["compat"] += 1
    changes = breaking_changes(old, new)
    assert isinstance(changes, list) and all(isinstance(c, str) and c for c in changes)
    assert breaking_changes(old, copy.deepcopy(old)) == []


@FUZZ
@given(SCHEMA_LIKE, SCHEMA_LIKE)
def test_registry_check_answers_changes_or_invalid_schema(old, new):
    TRIED["registry-check"] += 1
    registry = SchemaRegistry.from_dirs(bundled_schemas_dir())
    try:
        registry.put("fuzz.type", 1, old)
    except InvalidSchema:
        pass
    for type in ("fuzz.type", "dossier.submitted", "never.seen"):
        try:
            changes = registry.check(type, new)
        except InvalidSchema as exc:
            assert str(exc)
        else:
            assert isinstance(changes, list) and all(isinstance(c, str) for c in changes)


# --- regressions found by the properties above ----------------------------------------------------------

def test_deeply_nested_payload_field_is_refused_not_raised():
    # jsonschema-rs raised ValueError("Recursion limit reached") from iter_errors at 256 levels: route() raised,
    # which stopped the router task on one 600-byte ingress record and answered POST /v1/messages with a 500
    payload = {**VALID["payload"], "MaHoSo": DEEP}
    outcome = assert_decided(splice({**VALID, "payload": payload}, DEEP, deep(256, "")))
    assert outcome.stage == "schema" and outcome.errors[0].field == "payload.MaHoSo"
    assert outcome.errors[0].rule == "maxDepth" and "256 levels" in outcome.errors[0].message
    chu = {**VALID["payload"]["ChuHoSo"], "Extra": DEEP}  # an unknown field: the error message quotes it
    outcome = assert_decided(splice({**VALID, "payload": {**VALID["payload"], "ChuHoSo": chu}}, DEEP, deep(1000, "{}")))
    first = outcome.errors[0]
    assert (outcome.stage, first.field, first.rule) == ("schema", "payload.ChuHoSo.Extra", "maxDepth")


def test_boolean_subschemas_do_not_crash_the_compatibility_check():
    # {"$defs": {"a": true}} is a valid JSON Schema; breaking_changes called .get on the boolean
    assert breaking_changes({"$defs": {"a": True}}, {"$defs": {"a": True}}) == []
    assert breaking_changes({"$defs": {"a": {"type": "string"}}}, {"$defs": {"a": True}}) == []
    assert breaking_changes({"$defs": {"a": True}}, {"$defs": {"a": {"type": "string"}}}) \
        == ["$defs.a: type narrowed from ['any'] to ['string']"]
    assert breaking_changes({"$defs": {"a": {}}}, {"$defs": {"a": False}}) == ["$defs.a: false accepts no value"]
    registry = SchemaRegistry()
    registry.put("fuzz.type", 1, {"$defs": {"a": True}})
    assert registry.check("fuzz.type", {"$defs": {"a": True}, "properties": {"b": {"type": "string"}}}) == []


def test_ill_typed_keywords_do_not_crash_the_compatibility_check():
    for old, new in [({"$defs": []}, {}), ({"type": 5}, {"type": [[]]}), ({"enum": 3}, {"enum": "ab"}),
                     ({"minimum": "a"}, {"minimum": 1}), ({"maxLength": 1}, {"maxLength": None}),
                     ({"required": 7}, {"required": [[]]}), ({"properties": []}, {"properties": {"a": 1}}),
                     ({"items": {"type": "string"}}, {"items": 4})]:
        assert isinstance(breaking_changes(old, new), list), (old, new)
    assert breaking_changes({"minimum": 1}, {"minimum": 2}) == ["$: minimum tightened from 1 to 2"]


def test_remote_references_are_not_fetched(schema_server):
    # compiling a schema fetched any http(s) $ref, synchronously on the hub's event loop (SSRF, stalls)
    base, hits = schema_server
    with pytest.raises(InvalidSchema, match="remote"):
        compile_schema({"$ref": f"{base}/schema.json"})
    assert hits == []
    assert not compile_schema({"$ref": "#/$defs/a", "$defs": {"a": {"type": "string"}}}).is_valid(1)
