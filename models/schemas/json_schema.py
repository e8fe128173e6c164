"""The JSON Schema of each event type: the envelope with its payload, closed like our decoder.

One schema per event type (``event_type`` a constant, ``data`` that type's payload),
draft-07 (``$schema`` set, definitions under ``definitions``), every object closed
(``additionalProperties: false``) because the decoder refuses unknown fields. The
subject of an event type is ``<topic>-<event type>`` (Confluent's TopicRecordNameStrategy
with the event type as the record name), the topic being the deployment's topic name.
"""

import json
from collections.abc import Mapping
from typing import Any

from models.envelope import Envelope
from models.events import PAYLOAD_TYPES, Payload
from models.topics import TopicRole

DRAFT_07 = "http://json-schema.org/draft-07/schema#"


def subject(topic: str, event_type: str) -> str:
    """The registry subject of ``event_type`` on the topic named ``topic``."""
    return f"{topic}-{event_type}"


def _draft_07(node: Any) -> Any:
    """Pydantic's ``$defs`` references rewritten to draft-07's ``definitions``."""
    if isinstance(node, dict):
        return {
            ("definitions" if key == "$defs" else key): (
                value.replace("#/$defs/", "#/definitions/")
                if key == "$ref" and isinstance(value, str)
                else _draft_07(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_draft_07(item) for item in node]
    return node


def event_schema(payload_class: type[Payload]) -> dict[str, Any]:
    """The JSON Schema of one event type: an envelope whose ``data`` is that payload."""
    envelope = Envelope.model_json_schema(mode="serialization")
    payload = payload_class.model_json_schema(mode="serialization")
    definitions = {**envelope.pop("$defs", {}), **payload.pop("$defs", {})}
    properties = dict(envelope["properties"])
    properties["event_type"] = {"const": payload_class.event_type, "type": "string"}
    properties["data"] = payload
    used = _referenced(properties, definitions)
    definitions = {name: definition for name, definition in definitions.items() if name in used}
    schema: dict[str, Any] = {
        "$schema": DRAFT_07,
        "title": f"{payload_class.event_type} event",
        "type": "object",
        "properties": properties,
        "required": envelope["required"],
        "additionalProperties": False,
    }
    if definitions:
        schema["$defs"] = definitions
    return _draft_07(schema)  # type: ignore[no-any-return]


def _referenced(node: Any, definitions: Mapping[str, Any]) -> set[str]:
    """The definitions ``node`` refers to, directly or through other definitions."""
    found: set[str] = set()
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, dict):
            ref = current.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                name = ref.removeprefix("#/$defs/")
                if name not in found and name in definitions:
                    found.add(name)
                    pending.append(definitions[name])
            pending.extend(value for key, value in current.items() if key != "$ref")
        elif isinstance(current, list):
            pending.extend(current)
    return found


def schemas_by_subject(topic_names: Mapping[TopicRole, str]) -> dict[str, dict[str, Any]]:
    """Every event type's schema under its subject, for the deployment's topic names."""
    return {
        subject(topic_names[payload.topic], event_type): event_schema(payload)
        for event_type, payload in sorted(PAYLOAD_TYPES.items())
    }


def canonical(schema: Mapping[str, Any]) -> str:
    """The schema as registered: compact JSON with sorted keys, the same text every time."""
    return json.dumps(schema, sort_keys=True, separators=(",", ":"))
