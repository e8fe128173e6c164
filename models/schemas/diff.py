"""What changed between two JSON Schemas of one event type, in words a reviewer reads."""

import json
from collections.abc import Mapping
from typing import Any

CONSTRAINTS = (
    "type",
    "const",
    "enum",
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "additionalProperties",
    "$ref",
)


def _text(value: object) -> str:
    return json.dumps(value, sort_keys=True)


def differences(old: Mapping[str, Any], new: Mapping[str, Any], path: str = "") -> list[str]:
    """Each change from ``old`` to ``new``: properties added or removed, required or not,
    constraints changed; definitions compared by name (``#name``)."""
    changes: list[str] = []
    here = path or "(event)"
    for key in CONSTRAINTS:
        if key in old or key in new:
            before, after = old.get(key), new.get(key)
            if _text(before) != _text(after):
                changes.append(f"{here}: {key} {_text(before)} -> {_text(after)}")
    for key in ("anyOf", "oneOf", "allOf"):
        if _text(old.get(key)) != _text(new.get(key)):
            changes.append(f"{here}: {key} changed")
    old_properties, new_properties = old.get("properties", {}), new.get("properties", {})
    old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
    prefix = f"{path}." if path else ""
    for name in sorted(set(old_properties) | set(new_properties)):
        where = prefix + name
        if name not in new_properties:
            changes.append(f"- {where}")
        elif name not in old_properties:
            state = "required" if name in new_required else "optional"
            changes.append(f"+ {where} ({state})")
        else:
            if (name in old_required) != (name in new_required):
                state = "now required" if name in new_required else "now optional"
                changes.append(f"{where}: {state}")
            changes += differences(old_properties[name], new_properties[name], where)
    if "items" in old and "items" in new:
        changes += differences(old["items"], new["items"], f"{path}[]")
    old_definitions, new_definitions = old.get("definitions", {}), new.get("definitions", {})
    for name in sorted(set(old_definitions) | set(new_definitions)):
        if name not in new_definitions:
            changes.append(f"- #{name}")
        elif name not in old_definitions:
            changes.append(f"+ #{name}")
        else:
            changes += differences(old_definitions[name], new_definitions[name], f"#{name}")
    return changes
