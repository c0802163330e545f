"""Backward compatibility between two versions of a message schema.

A new version is compatible when every payload valid under the latest version
stays valid: new optional fields are fine; new required fields, removed fields
and narrowed types, enums or bounds are breaking.
"""

from __future__ import annotations

from typing import Any

_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_EXACT = ("pattern", "format", "const", "multipleOf", "x-personal-id", "x-birth-year-matches")


def breaking_changes(old: dict[str, Any] | bool, new: dict[str, Any] | bool, path: str = "$") -> list[str]:
    """Every change from `old` to `new` that could reject a payload `old` accepted.

    Subschemas may be booleans (`true` accepts anything, `false` nothing); a keyword whose value has the
    wrong shape is ignored here (compiling the schema reports it), never a crash.
    """
    if old is False or new is True:
        return []
    if new is False:
        return [f"{path}: false accepts no value"]
    old, new = _dict(old), _dict(new)
    changes = _type_changes(old, new, path) + _enum_changes(old, new, path) + _bound_changes(old, new, path)
    changes += _object_changes(old, new, path)
    if _is_schema(old.get("items")) and _is_schema(new.get("items")):
        changes += breaking_changes(old["items"], new["items"], f"{path}[]")
    new_defs = _dict(new.get("$defs"))
    for name, old_def in _dict(old.get("$defs")).items():  # shared definitions referenced by $ref
        if _is_schema(old_def):
            changes += breaking_changes(old_def, new_defs.get(name, {}), f"$defs.{name}")
    return changes


def _is_schema(value: Any) -> bool:
    return isinstance(value, (dict, bool))


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _strings(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _types(schema: dict[str, Any]) -> set[str] | None:
    declared = schema.get("type")
    if not isinstance(declared, (str, list)):
        return None
    types = {declared} if isinstance(declared, str) else set(_strings(declared))
    return types | {"integer"} if "number" in types else types


def _type_changes(old: dict, new: dict, path: str) -> list[str]:
    old_types, new_types = _types(old), _types(new)
    if new_types is None or (old_types is not None and old_types <= new_types):
        return []
    return [f"{path}: type narrowed from {sorted(old_types or ['any'])} to {sorted(new_types)}"]


def _enum_changes(old: dict, new: dict, path: str) -> list[str]:
    if not isinstance(new.get("enum"), list):
        return []
    if not isinstance(old.get("enum"), list):
        return [f"{path}: enum {new['enum']} added where any value was allowed"]
    dropped = [value for value in old["enum"] if value not in new["enum"]]
    return [f"{path}: enum narrowed, values {dropped} removed"] if dropped else []


def _bound_changes(old: dict, new: dict, path: str) -> list[str]:
    changes = []
    for keyword in _LOWER_BOUNDS + _UPPER_BOUNDS:
        if not isinstance(new.get(keyword), (int, float)):
            continue
        before, after = old.get(keyword), new[keyword]
        tighter = not isinstance(before, (int, float)) or (
            after > before if keyword in _LOWER_BOUNDS else after < before)
        if tighter:
            changes.append(f"{path}: {keyword} tightened from {before} to {after}")
    for keyword in _EXACT:
        if keyword in new and new[keyword] != old.get(keyword):
            changes.append(f"{path}: {keyword} changed from {old.get(keyword)!r} to {new[keyword]!r}")
    return changes


def _object_changes(old: dict, new: dict, path: str) -> list[str]:
    old_props, new_props = _dict(old.get("properties")), _dict(new.get("properties"))
    changes = [f"{path}.{name}: field removed" for name in old_props if name not in new_props]
    old_required = set(_strings(old.get("required")))
    changes += [f"{path}.{name}: new required field" for name in _strings(new.get("required"))
                if name not in old_required]
    if new.get("additionalProperties") is False and old.get("additionalProperties") is not False:
        changes.append(f"{path}: additionalProperties closed")
    for name, old_prop in old_props.items():
        if _is_schema(old_prop) and _is_schema(new_props.get(name)):
            changes += breaking_changes(old_prop, new_props[name], f"{path}.{name}")
    return changes
