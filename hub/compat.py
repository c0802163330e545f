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


def breaking_changes(old: dict[str, Any], new: dict[str, Any], path: str = "$") -> list[str]:
    """Every change from `old` to `new` that could reject a payload `old` accepted."""
    changes = _type_changes(old, new, path) + _enum_changes(old, new, path) + _bound_changes(old, new, path)
    changes += _object_changes(old, new, path)
    if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
        changes += breaking_changes(old["items"], new["items"], f"{path}[]")
    for name, old_def in old.get("$defs", {}).items():  # shared definitions referenced by $ref
        changes += breaking_changes(old_def, new.get("$defs", {}).get(name, {}), f"$defs.{name}")
    return changes


def _types(schema: dict[str, Any]) -> set[str] | None:
    declared = schema.get("type")
    if declared is None:
        return None
    types = {declared} if isinstance(declared, str) else set(declared)
    return types | {"integer"} if "number" in types else types


def _type_changes(old: dict, new: dict, path: str) -> list[str]:
    old_types, new_types = _types(old), _types(new)
    if new_types is None or (old_types is not None and old_types <= new_types):
        return []
    return [f"{path}: type narrowed from {sorted(old_types or ['any'])} to {sorted(new_types)}"]


def _enum_changes(old: dict, new: dict, path: str) -> list[str]:
    if "enum" not in new:
        return []
    if "enum" not in old:
        return [f"{path}: enum {new['enum']} added where any value was allowed"]
    dropped = [value for value in old["enum"] if value not in new["enum"]]
    return [f"{path}: enum narrowed, values {dropped} removed"] if dropped else []


def _bound_changes(old: dict, new: dict, path: str) -> list[str]:
    changes = []
    for keyword in _LOWER_BOUNDS + _UPPER_BOUNDS:
        if keyword not in new:
            continue
        before, after = old.get(keyword), new[keyword]
        tighter = before is None or (after > before if keyword in _LOWER_BOUNDS else after < before)
        if tighter:
            changes.append(f"{path}: {keyword} tightened from {before} to {after}")
    for keyword in _EXACT:
        if keyword in new and new[keyword] != old.get(keyword):
            changes.append(f"{path}: {keyword} changed from {old.get(keyword)!r} to {new[keyword]!r}")
    return changes


def _object_changes(old: dict, new: dict, path: str) -> list[str]:
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    changes = [f"{path}.{name}: field removed" for name in old_props if name not in new_props]
    old_required = set(old.get("required", []))
    changes += [f"{path}.{name}: new required field" for name in new.get("required", []) if name not in old_required]
    if new.get("additionalProperties") is False and old.get("additionalProperties") is not False:
        changes.append(f"{path}: additionalProperties closed")
    for name, old_prop in old_props.items():
        if isinstance(old_prop, dict) and isinstance(new_props.get(name), dict):
            changes += breaking_changes(old_prop, new_props[name], f"{path}.{name}")
    return changes
