"""The schema registry: JSON Schema contracts per message type and version, compiled once."""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson

from hub.core import personal_id
from hub.core.errors import HubError
from hub.core.rejection import FieldError
from hub.core.schemas.compat import breaking_changes
from hub.core.schemas.keywords import KEYWORDS

_VERSION_FILE = re.compile(r"^v([1-9][0-9]*)\.json$")


class UnknownType(HubError, LookupError):
    pass


class UnknownVersion(HubError, LookupError):
    pass


class Incompatible(HubError, ValueError):
    def __init__(self, type: str, changes: list[str]) -> None:
        super().__init__(f"{type}: not backward compatible: {'; '.join(changes)}")
        self.changes = changes


class InvalidSchema(HubError, ValueError):
    pass


def _no_remote(uri: str) -> Any:
    raise ValueError(f"remote references are not fetched ({uri}); put shared definitions in $defs")


def compile_schema(schema: dict[str, Any]) -> jsonschema_rs.Validator:
    try:  # never fetch a $ref over the network: a registration would make the hub call any URL, blocking
        return jsonschema_rs.validator_for(schema, validate_formats=True, keywords=KEYWORDS, retriever=_no_remote)
    except (jsonschema_rs.ValidationError, ValueError) as exc:
        raise InvalidSchema(f"not a valid JSON Schema: {exc}") from exc


def bundled_schemas_dir() -> Path:
    """`schemas/` as shipped in the wheel, or at the top of a source checkout."""
    shipped = resources.files("hub").joinpath("schemas")
    if shipped.is_dir():
        return Path(str(shipped))
    return Path(__file__).resolve().parents[3] / "schemas"


def read_schema_dir(root: Path) -> Iterable[tuple[str, int, dict[str, Any]]]:
    """Yield (type, version, schema) for every `<type>/v<N>.json` under `root`."""
    for path in sorted(root.glob("*/v*.json")):
        match = _VERSION_FILE.match(path.name)
        if match:
            yield path.parent.name, int(match.group(1)), orjson.loads(path.read_bytes())


def _field_error(error: jsonschema_rs.ValidationError) -> FieldError:
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.instance_path)
    if type(error.kind).__name__ == "Required":
        path += f".{error.kind.property}"
    rule = next((str(p) for p in reversed(error.schema_path) if isinstance(p, str)), "schema")
    # Messages quote the offending value: never a citizen's ID in errors, DLQ headers or logs.
    return FieldError(field=f"payload{path}", rule=rule, message=personal_id.mask_text(error.message))


class SchemaRegistry:
    """Schemas by type and version. Reads are lock-free; adding a version swaps dicts."""

    def __init__(self) -> None:
        self._schemas: dict[str, dict[int, dict[str, Any]]] = {}
        self._validators: dict[tuple[str, int], jsonschema_rs.Validator] = {}

    @classmethod
    def from_dirs(cls, *roots: Path) -> SchemaRegistry:
        registry = cls()
        for root in roots:
            for type, version, schema in read_schema_dir(root):
                registry.put(type, version, schema)
        return registry

    def put(self, type: str, version: int, schema: dict[str, Any]) -> None:
        """Add a known version without a compatibility check (files, the store)."""
        self._validators[(type, version)] = compile_schema(schema)
        self._schemas.setdefault(type, {})[version] = schema

    def types(self) -> list[str]:
        return sorted(self._schemas)

    def versions(self, type: str) -> list[int]:
        if type not in self._schemas:
            raise UnknownType(f"unknown message type {type!r}")
        return sorted(self._schemas[type])

    def schema(self, type: str, version: int) -> dict[str, Any]:
        if version not in self._schemas.get(type, {}):
            self.versions(type)  # raises UnknownType first when the type itself is unknown
            raise UnknownVersion(f"{type} has no version {version} (known: {self.versions(type)})")
        return self._schemas[type][version]

    def has(self, type: str, version: int) -> bool:
        return version in self._schemas.get(type, {})

    def version_of(self, type: str, schema: dict[str, Any]) -> int | None:
        """The version already registered with exactly this schema, if any."""
        return next((v for v, known in self._schemas.get(type, {}).items() if known == schema), None)

    def check(self, type: str, schema: dict[str, Any]) -> list[str]:
        """Breaking changes of `schema` against the latest version (empty list: compatible)."""
        compile_schema(schema)
        if type not in self._schemas:
            return []
        latest = self._schemas[type][max(self._schemas[type])]
        return breaking_changes(latest, schema)

    def next_version(self, type: str, schema: dict[str, Any]) -> int:
        """The version number `schema` would get; raises Incompatible when it breaks the latest."""
        changes = self.check(type, schema)
        if changes:
            raise Incompatible(type, changes)
        return max(self._schemas.get(type, {0: None})) + 1

    def validate(self, type: str, version: int, payload: Any) -> list[FieldError]:
        """Every rule `payload` breaks (empty when valid). Raises UnknownType/UnknownVersion."""
        validator = self._validators.get((type, version))
        if validator is None:
            self.schema(type, version)
        try:
            if validator.is_valid(payload):
                return []
            return _without_restated_patterns([_field_error(error) for error in validator.iter_errors(payload)])
        except ValueError as exc:  # jsonschema-rs gives up on deep nesting ("Recursion limit reached")
            return [_too_deep(payload, exc)]


def _without_restated_patterns(errors: list[FieldError]) -> list[FieldError]:
    """Drop a `pattern` error on a field whose `x-personal-id` also failed: the pattern spells the ID's
    structure out for validators without the keyword, and quotes only a long regex; the keyword says why."""
    explained = {error.field for error in errors if error.rule == "x-personal-id"}
    return [error for error in errors if not (error.rule == "pattern" and error.field in explained)]


def _too_deep(payload: Any, exc: ValueError) -> FieldError:
    """The field holding the deepest nesting of a payload the validator could not walk."""
    depths: dict[int, int] = {}  # container id → nesting depth, one iterative pass (no recursion limit)
    stack: list[tuple[Any, bool]] = [(payload, False)]
    while stack:
        node, children_done = stack.pop()
        if isinstance(node, (dict, list)):
            children = list(node.values()) if isinstance(node, dict) else node
            if children_done:
                depths[id(node)] = 1 + max((depths.get(id(child), 0) for child in children), default=0)
            else:
                stack += [(node, True), *((child, False) for child in children)]
    path, node = "payload", payload
    while isinstance(node, dict) and node:
        name, node = max(node.items(), key=lambda item: depths.get(id(item[1]), 0))
        path += f".{name}"
    return FieldError(path, "maxDepth",
                      f"nested {depths.get(id(node), 0)} levels deep, too deep to validate ({exc})")
