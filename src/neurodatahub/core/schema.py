"""The generated JSON Schema, whole or cut down to one class and what it refers to."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from neurodatahub.core.errors import UsageError


@cache
def json_schema() -> dict[str, Any]:
    from neurodatahub_models import JSON_SCHEMA_PATH

    return json.loads(JSON_SCHEMA_PATH.read_text(encoding="utf-8"))


def class_names() -> list[str]:
    """Classes and enums defined by the schema."""
    return sorted(json_schema()["$defs"])


def listing() -> dict[str, list[str]]:
    """The schema's classes and enums apart (the JSON Schema's helper types left out), for `--list`:
    abstract classes and each kind's pivot class are marked."""
    from neurodatahub_models.facts import CLASSES, ENUMS

    def described(name: str) -> str:
        facts = CLASSES[name]
        notes = ["abstract"] if facts["abstract"] else []
        if facts["kind"]:
            notes.append(f"kind {facts['kind']}")
        return f"{name} ({', '.join(notes)})" if notes else name

    return {"classes": [described(name) for name in sorted(CLASSES)], "enums": sorted(ENUMS)}


def class_schema(name: str) -> dict[str, Any]:
    """A standalone JSON Schema for one class: a $ref to it plus the definitions it reaches."""
    schema = json_schema()
    definitions = schema["$defs"]
    if name not in definitions:
        raise UsageError(f"unknown class {name!r}; classes: {', '.join(class_names())}")
    needed: dict[str, Any] = {}
    pending = [name]
    while pending:
        current = pending.pop()
        if current in needed:
            continue
        needed[current] = definitions[current]
        pending.extend(_references(definitions[current]))
    return {
        "$schema": schema["$schema"],
        "$id": f"{schema['$id']}/{name}",
        "title": name,
        "$ref": f"#/$defs/{name}",
        "$defs": dict(sorted(needed.items())),
    }


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"].rsplit("/", 1)[-1]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _references(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _references(value)]
    return []
