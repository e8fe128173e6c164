"""What an EventBridge target receives for a matched event: whole, Input, InputPath, template.

A target's input is compiled once (its JSONPaths parsed, its template cut into literal text and
placeholders); rendering an event is then a walk of the paths and a join of the pieces, and
gives the bytes to write to the target.

As AWS documents it (EventBridge user guide, "input transformation"):

- by default the target receives the whole event; ``Input`` sends its constant JSON text
  instead, ``InputPath`` the part of the event a JSONPath selects;
- ``InputTransformer`` extracts variables with ``InputPathsMap`` (at most 100, names of
  ``[A-Za-z0-9_-]``, none starting with ``AWS.``) and fills ``<name>`` placeholders of its
  ``InputTemplate`` (1..8192 characters); a placeholder cannot be an object key;
- outside a JSON string a placeholder becomes the value as JSON (strings quoted, objects
  and arrays as they are); inside a string it becomes the raw value, unescaped, and an
  object or array there loses its inner quotes (``"Detail is {key1: value1}"``);
- the reserved variables: ``aws.events.rule-arn``, ``aws.events.rule-name``,
  ``aws.events.event.ingestion-time``, ``aws.events.event`` (the event without ``detail``)
  and ``aws.events.event.json`` (the whole event).

Where we had to choose (AWS does not document it, or documents it loosely):

- the JSONPath subset is ``$``, ``.name``, ``[index]`` and ``['name']``/``["name"]``;
  wildcards are refused;
- an ``InputPath`` that selects nothing sends JSON ``null``;
- a variable whose path selects nothing (AWS: "that variable isn't created") becomes
  ``null`` outside a string and nothing inside one, so a JSON template stays JSON;
- a template whose first character (after blanks) is not ``{``, ``[`` or ``"`` is plain
  text: every placeholder in it is filled as if inside a string;
- a JSON template must be JSON once its placeholders are filled with ``null`` (outside
  strings) and nothing (inside); ``<name>`` naming no variable is left as written;
- the output keeps the template's whitespace (it is not minified).
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

#: AWS's limits on an input transformer.
MAX_PATHS = 100
MAX_TEMPLATE_LENGTH = 8192
MAX_PATH_LENGTH = 256
MAX_VARIABLE_LENGTH = 256

RULE_ARN = "aws.events.rule-arn"
RULE_NAME = "aws.events.rule-name"
INGESTION_TIME = "aws.events.event.ingestion-time"
EVENT = "aws.events.event"
EVENT_JSON = "aws.events.event.json"
RESERVED_VARIABLES = frozenset({RULE_ARN, RULE_NAME, INGESTION_TIME, EVENT, EVENT_JSON})

_STEP = re.compile(r"\.([^.\[\]'\"\s*]+)|\[(\d+)\]|\['([^']+)'\]|\[\"([^\"]+)\"\]")
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_VARIABLE_NAME = re.compile(r"[A-Za-z0-9_\-]+")
_OBJECT_KEY = re.compile(r"\s*:")


class _Missing:
    """What a path selects in an event that lacks it."""

    __slots__ = ()


MISSING: Final = _Missing()


class InvalidTargetInput(ValueError):
    """A target input EventBridge would refuse; the message says why."""


@dataclass(frozen=True)
class JsonPath:
    """A compiled JSONPath of EventBridge's subset: keys and array indexes below ``$``."""

    text: str
    steps: tuple[str | int, ...]

    def select(self, document: object) -> object:
        """The value the path selects in a decoded event, or ``MISSING``."""
        value = document
        for step in self.steps:
            if isinstance(step, int):
                if not isinstance(value, list) or step >= len(value):
                    return MISSING
                value = value[step]
            elif isinstance(value, Mapping) and step in value:
                value = value[step]
            else:
                return MISSING
        return value


def compile_json_path(text: str) -> JsonPath:
    """Parse a JSONPath, or raise ``InvalidTargetInput``."""
    if not text.startswith("$") or len(text) > MAX_PATH_LENGTH:
        raise InvalidTargetInput(f"{text} is not a valid JSONPath")
    steps: list[str | int] = []
    position = 1
    while position < len(text):
        step = _STEP.match(text, position)
        if step is None:
            raise InvalidTargetInput(f"{text} is not a valid JSONPath")
        name, index, single, double = step.groups()
        steps.append(int(index) if index is not None else name or single or double)
        position = step.end()
    return JsonPath(text, tuple(steps))


@dataclass(frozen=True)
class Delivery:
    """What the reserved variables name: the rule that matched and when the event came in."""

    rule_name: str
    rule_arn: str
    ingestion_time: str


def _json_text(value: object) -> str:
    """Compact JSON, non-ASCII characters kept as they are."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class TargetInput:
    """What a target receives; this base sends the whole event."""

    __slots__ = ()

    def render(self, event: Mapping[str, Any], delivery: Delivery) -> bytes:
        """The bytes to write to the target for this (decoded) event."""
        return _json_text(event).encode()


@dataclass(frozen=True)
class ConstantInput(TargetInput):
    """``Input``: the same JSON text for every event."""

    text: str

    def render(self, event: Mapping[str, Any], delivery: Delivery) -> bytes:
        """The constant text, whatever the event."""
        return self.text.encode()


@dataclass(frozen=True)
class SelectedInput(TargetInput):
    """``InputPath``: the part of the event one JSONPath selects."""

    path: JsonPath

    def render(self, event: Mapping[str, Any], delivery: Delivery) -> bytes:
        """The selected value as JSON, ``null`` when the path selects nothing."""
        value = self.path.select(event)
        return _json_text(None if value is MISSING else value).encode()


@dataclass(frozen=True)
class Placeholder:
    """A ``<name>`` in a template, and whether it stands inside a JSON string."""

    name: str
    in_string: bool

    def fill(self, value: object) -> str:
        """The text that replaces the placeholder for this value."""
        if not self.in_string:
            return "null" if value is MISSING else _json_text(value)
        if value is MISSING:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False).replace('"', "")
        return _json_text(value)


@dataclass(frozen=True)
class TransformedInput(TargetInput):
    """``InputTransformer``: variables from ``InputPathsMap`` filled into ``InputTemplate``."""

    paths_map: Mapping[str, JsonPath]
    template: str
    pieces: tuple[str | Placeholder, ...] = field(compare=False)

    def render(self, event: Mapping[str, Any], delivery: Delivery) -> bytes:
        """The template with every placeholder replaced by its value for this event."""
        values = self.variables(event, delivery)
        return "".join(
            piece if isinstance(piece, str) else piece.fill(values[piece.name])
            for piece in self.pieces
        ).encode()

    def variables(self, event: Mapping[str, Any], delivery: Delivery) -> dict[str, object]:
        """Every variable the template may use, with its value for this event."""
        values: dict[str, object] = {
            name: path.select(event) for name, path in self.paths_map.items()
        }
        values[RULE_ARN] = delivery.rule_arn
        values[RULE_NAME] = delivery.rule_name
        values[INGESTION_TIME] = delivery.ingestion_time
        values[EVENT] = {key: value for key, value in event.items() if key != "detail"}
        values[EVENT_JSON] = dict(event)
        return values


def _paths_map(paths_map: Mapping[str, str]) -> dict[str, JsonPath]:
    """``InputPathsMap`` compiled, refusing names and paths AWS refuses."""
    if len(paths_map) > MAX_PATHS:
        raise InvalidTargetInput(f"InputPathsMap can have at most {MAX_PATHS} entries")
    compiled = {}
    for name, path in paths_map.items():
        if (
            not _VARIABLE_NAME.fullmatch(name)
            or len(name) > MAX_VARIABLE_LENGTH
            or name.upper().startswith("AWS.")
        ):
            raise InvalidTargetInput(f"InputPathsMap has an invalid variable name: {name}")
        if not isinstance(path, str):
            raise InvalidTargetInput(f"InputPathsMap value for {name} must be a string")
        compiled[name] = compile_json_path(path)
    return compiled


def _cut_template(template: str, names: frozenset[str]) -> tuple[str | Placeholder, ...]:
    """The template as literal text and placeholders, each knowing if it is inside a string."""
    json_template = template.lstrip()[:1] in ("{", "[", '"')
    pieces: list[str | Placeholder] = []
    in_string = False
    escaped = False
    position = 0
    for found in _PLACEHOLDER.finditer(template):
        if found.group(1) not in names:
            continue
        literal = template[position : found.start()]
        for char in literal:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = in_string
            elif char == '"':
                in_string = not in_string
        inside = in_string or not json_template
        if not inside and _OBJECT_KEY.match(template, found.end()):
            raise InvalidTargetInput("The placeholder cannot be used as an object key")
        pieces += [literal, Placeholder(found.group(1), inside)]
        position = found.end()
    pieces.append(template[position:])
    if json_template:
        _check_json(pieces)
    return tuple(piece for piece in pieces if piece != "")


def _check_json(pieces: list[str | Placeholder]) -> None:
    """Refuse a JSON template that is not JSON once filled with empty values."""
    filled = "".join(piece if isinstance(piece, str) else piece.fill(MISSING) for piece in pieces)
    try:
        json.loads(filled)
    except ValueError as error:
        raise InvalidTargetInput(f"InputTemplate is not valid JSON: {error}") from None


def compile_input_transformer(paths_map: Mapping[str, str], template: str) -> TransformedInput:
    """An input transformer compiled from AWS's two fields, or ``InvalidTargetInput``."""
    if not 1 <= len(template) <= MAX_TEMPLATE_LENGTH:
        raise InvalidTargetInput(
            f"InputTemplate must be 1 to {MAX_TEMPLATE_LENGTH} characters long"
        )
    compiled = _paths_map(paths_map)
    pieces = _cut_template(template, frozenset(compiled) | RESERVED_VARIABLES)
    return TransformedInput(compiled, template, pieces)


def compile_constant_input(text: str) -> ConstantInput:
    """``Input`` checked to be JSON text, or ``InvalidTargetInput``."""
    try:
        json.loads(text)
    except ValueError as error:
        raise InvalidTargetInput(f"Input is not valid JSON: {error}") from None
    return ConstantInput(text)


WHOLE_EVENT: Final = TargetInput()
