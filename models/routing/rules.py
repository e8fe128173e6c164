"""EventBridge rules and their targets: PutRule, PutTargets and the rest on an immutable rule set.

A rule set is a mapping of rule name to :class:`Rule`; every action returns a new mapping and
leaves the one it was given untouched. Rules live in a compacted Kafka topic keyed by rule
name (``rule_to_bytes``/``rule_from_bytes``; a deleted rule is a tombstone). A target's
destination is a Kafka topic (``kafka:<topic>``) or an HTTP endpoint (``http(s)://...``).

As AWS documents it: rule names and target ids are 1..64 characters of ``[.\\-_A-Za-z0-9]``,
a description at most 512 characters, a rule at most five targets (more is
``LimitExceededException``), a PutTargets request at most ten; a target has at most one of
``Input``, ``InputPath`` and ``InputTransformer``; PutRule replaces a rule's fields but keeps
its targets; a rule with targets cannot be deleted. Refusals are :class:`AwsError`.

Where we had to choose (AWS does not document it):

- a target PutTargets cannot add (bad id, destination or input) is reported in
  ``FailedEntries`` with ``ErrorCode`` ``ValidationException``; a malformed request (no
  list, more than ten entries, an entry that is not an object) is refused as a whole;
- RemoveTargets ignores ids the rule does not have; DeleteRule of an unknown rule is
  ``ResourceNotFoundException``, like every other action;
- the LimitExceededException message, and ARNs in region ``local`` of account
  ``000000000000`` on the ``default`` event bus.
"""

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from models.delivery.retry_policy import InvalidRetryPolicy, check_retry_limits
from models.routing.checks import AwsError
from models.routing.event_patterns import EventPattern, InvalidEventPattern, compile_event_pattern
from models.routing.target_input import (
    WHOLE_EVENT,
    Delivery,
    InvalidTargetInput,
    SelectedInput,
    TargetInput,
    compile_constant_input,
    compile_input_transformer,
    compile_json_path,
)

REGION = "local"
ACCOUNT = "000000000000"
EVENT_BUS = "default"
MAX_TARGETS = 5
MAX_TARGETS_PER_REQUEST = 10
MAX_NAME_LENGTH = 64
MAX_DESCRIPTION_LENGTH = 512
MAX_INPUT_LENGTH = 8192
NAME_PATTERN = r"[\.\-_A-Za-z0-9]+"
KAFKA_TOPIC = re.compile(r"[a-zA-Z0-9._-]{1,249}")

_NAME = re.compile(NAME_PATTERN)


def validation_error(field_path: str, value: object, constraint: str) -> AwsError:
    """AWS's ``ValidationException`` for one request member that breaks a constraint."""
    return AwsError(
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{field_path}' failed to satisfy "
        f"constraint: {constraint}",
    )


def _check_name(field_path: str, value: object) -> str:
    """A rule name or target id: 1..64 characters of AWS's name pattern."""
    if value is None:
        raise validation_error(field_path, value, "Member must not be null")
    if not isinstance(value, str):
        raise validation_error(field_path, value, "Member must be a string")
    if len(value) > MAX_NAME_LENGTH:
        raise validation_error(
            field_path, value, f"Member must have length less than or equal to {MAX_NAME_LENGTH}"
        )
    if not _NAME.fullmatch(value):
        raise validation_error(
            field_path, value, f"Member must satisfy regular expression pattern: {NAME_PATTERN}"
        )
    return value


def _optional_string(field_path: str, value: object) -> str | None:
    """A member that may be absent but, when given, is a string."""
    if value is not None and not isinstance(value, str):
        raise validation_error(field_path, value, "Member must be a string")
    return value


class DestinationKind(StrEnum):
    """Where our platform delivers: a Kafka topic or an HTTP(S) endpoint."""

    KAFKA = "kafka"
    HTTP = "http"
    HTTPS = "https"


@dataclass(frozen=True)
class Destination:
    """A delivery destination: its kind and its address (a topic name or a URL)."""

    kind: DestinationKind
    address: str

    @property
    def text(self) -> str:
        """The destination as written: ``kafka:<topic>`` or the URL."""
        return f"kafka:{self.address}" if self.kind is DestinationKind.KAFKA else self.address


def parse_destination(text: str) -> Destination:
    """``kafka:<topic>`` or an ``http(s)://`` URL, or ValueError saying why not."""
    if text.startswith("kafka:"):
        topic = text.removeprefix("kafka:")
        if not KAFKA_TOPIC.fullmatch(topic) or topic in (".", ".."):
            raise ValueError(f"{topic!r} is not a valid Kafka topic name")
        return Destination(DestinationKind.KAFKA, topic)
    if any(char.isspace() or not char.isprintable() for char in text):
        raise ValueError("a URL cannot contain blanks or control characters")
    url = urlsplit(text)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError(f"{text!r} is neither kafka:<topic> nor an http(s) URL with a host")
    try:
        url.port  # noqa: B018 - parsing the port is the check
    except ValueError as error:
        raise ValueError(f"{text!r} has an invalid port: {error}") from None
    return Destination(DestinationKind(url.scheme), text)


@dataclass(frozen=True)
class InputTransformer:
    """AWS's InputTransformer: variables extracted by JSONPath, and the template they fill."""

    input_template: str
    input_paths_map: Mapping[str, str] = field(default_factory=dict)


class RuleState(StrEnum):
    """Whether a rule delivers the events it matches."""

    ENABLED = "ENABLED"
    DISABLED = "DISABLED"


def _target_failure(target_id: str, reason: str) -> AwsError:
    return AwsError("ValidationException", f"Target {target_id}: {reason}")


@dataclass(frozen=True)
class Target:
    """Where a rule sends a matched event, and what it sends (compiled once)."""

    id: str
    arn: str
    input: str | None = None
    input_path: str | None = None
    input_transformer: InputTransformer | None = None
    retry_policy: Mapping[str, int] | None = None
    """``MaximumRetryAttempts`` and ``MaximumEventAgeInSeconds`` of an HTTP target's delivery."""
    destination: Destination = field(init=False, compare=False, repr=False)
    delivered: TargetInput = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        _check_name("id", self.id)
        try:
            destination = parse_destination(self.arn)
        except ValueError as invalid:
            raise _target_failure(self.id, f"Arn: {invalid}") from None
        if self.retry_policy is not None:
            try:
                object.__setattr__(self, "retry_policy", check_retry_limits(self.retry_policy))
            except InvalidRetryPolicy as invalid:
                raise _target_failure(self.id, f"RetryPolicy: {invalid}") from None
        object.__setattr__(self, "destination", destination)
        object.__setattr__(self, "delivered", self._compile_input())

    def _compile_input(self) -> TargetInput:
        """The input the target receives, or the refusal naming the target."""
        given = [self.input, self.input_path, self.input_transformer]
        if sum(value is not None for value in given) > 1:
            raise _target_failure(
                self.id, "Only one of Input, InputPath, or InputTransformer must be provided."
            )
        try:
            if self.input is not None:
                if len(self.input) > MAX_INPUT_LENGTH:
                    raise InvalidTargetInput(f"Input exceeds {MAX_INPUT_LENGTH} characters")
                return compile_constant_input(self.input)
            if self.input_path is not None:
                return SelectedInput(compile_json_path(self.input_path))
            if self.input_transformer is not None:
                transformer = self.input_transformer
                return compile_input_transformer(
                    transformer.input_paths_map, transformer.input_template
                )
        except InvalidTargetInput as invalid:
            raise _target_failure(self.id, str(invalid)) from None
        return WHOLE_EVENT

    def render(self, event: Mapping[str, Any], delivery: Delivery) -> bytes:
        """The bytes this target receives for a matched (decoded) event."""
        return self.delivered.render(event, delivery)

    def to_request(self) -> dict[str, Any]:
        """The target as PutTargets and ListTargetsByRule spell it."""
        entry: dict[str, Any] = {"Id": self.id, "Arn": self.arn}
        if self.input is not None:
            entry["Input"] = self.input
        if self.input_path is not None:
            entry["InputPath"] = self.input_path
        if self.input_transformer is not None:
            transformer: dict[str, Any] = {"InputTemplate": self.input_transformer.input_template}
            if self.input_transformer.input_paths_map:
                transformer["InputPathsMap"] = dict(self.input_transformer.input_paths_map)
            entry["InputTransformer"] = transformer
        if self.retry_policy is not None:
            entry["RetryPolicy"] = dict(self.retry_policy)
        return entry


def target_from_request(entry: Mapping[str, Any]) -> Target:
    """A target from one PutTargets entry (``Id``, ``Arn``, ``Input``...), or ``AwsError``."""
    target_id = _check_name("id", entry.get("Id"))
    arn = entry.get("Arn")
    if not isinstance(arn, str):
        raise _target_failure(target_id, "Arn must be a string")
    transformer = entry.get("InputTransformer")
    if transformer is not None:
        transformer = _transformer_from_request(target_id, transformer)
    return Target(
        target_id,
        arn,
        input=_optional_string("input", entry.get("Input")),
        input_path=_optional_string("inputPath", entry.get("InputPath")),
        input_transformer=transformer,
        retry_policy=entry.get("RetryPolicy"),
    )


def _transformer_from_request(target_id: str, value: object) -> InputTransformer:
    """``{"InputPathsMap": {...}, "InputTemplate": "..."}`` checked for types."""
    if not isinstance(value, Mapping):
        raise _target_failure(target_id, "InputTransformer must be an object")
    template = value.get("InputTemplate")
    paths_map = value.get("InputPathsMap", {})
    if not isinstance(template, str):
        raise _target_failure(target_id, "InputTransformer.InputTemplate must be a string")
    if not isinstance(paths_map, Mapping):
        raise _target_failure(target_id, "InputTransformer.InputPathsMap must be a map")
    return InputTransformer(template, dict(paths_map))


def rule_arn(name: str) -> str:
    """The ARN of a rule on our event bus."""
    return f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}"


@dataclass(frozen=True)
class Rule:
    """An EventBridge rule: its event pattern (compiled once), state and targets."""

    name: str
    event_pattern: str
    state: RuleState = RuleState.ENABLED
    description: str = ""
    targets: tuple[Target, ...] = ()
    pattern: EventPattern = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        _check_name("name", self.name)
        if self.state not in tuple(RuleState):
            raise _bad_state(self.state)
        object.__setattr__(self, "state", RuleState(self.state))
        if len(self.description) > MAX_DESCRIPTION_LENGTH:
            raise validation_error(
                "description",
                self.description,
                f"Member must have length less than or equal to {MAX_DESCRIPTION_LENGTH}",
            )
        if len(self.targets) > MAX_TARGETS:
            raise _limit_exceeded()
        try:
            pattern = compile_event_pattern(self.event_pattern)
        except InvalidEventPattern as invalid:
            raise AwsError(invalid.aws_type, str(invalid)) from None
        object.__setattr__(self, "pattern", pattern)

    @property
    def arn(self) -> str:
        """The rule's ARN."""
        return rule_arn(self.name)

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Whether the rule is enabled and its pattern matches the (decoded) event."""
        return self.state is RuleState.ENABLED and self.pattern.matches(event)

    def delivery(self, ingestion_time: str) -> Delivery:
        """What the reserved variables of this rule's transformers name for one event."""
        return Delivery(self.name, self.arn, ingestion_time)

    def describe(self) -> dict[str, Any]:
        """The rule as DescribeRule answers it."""
        answer: dict[str, Any] = {
            "Name": self.name,
            "Arn": self.arn,
            "EventPattern": self.event_pattern,
            "State": self.state.value,
            "EventBusName": EVENT_BUS,
        }
        if self.description:
            answer["Description"] = self.description
        return answer


def _bad_state(state: object) -> AwsError:
    return validation_error(
        "state", state, "Member must satisfy enum value set: [ENABLED, DISABLED]"
    )


def _limit_exceeded() -> AwsError:
    return AwsError("LimitExceededException", f"A rule can have at most {MAX_TARGETS} targets.")


def _not_found(name: str) -> AwsError:
    return AwsError("ResourceNotFoundException", f"Rule {name} does not exist.")


def _existing(rules: Mapping[str, Rule], name: str) -> Rule:
    rule = rules.get(name)
    if rule is None:
        raise _not_found(name)
    return rule


def _with(rules: Mapping[str, Rule], rule: Rule) -> dict[str, Rule]:
    return {**rules, rule.name: rule}


def _rule_from_request(request: Mapping[str, Any], targets: tuple[Target, ...]) -> Rule:
    """A rule from PutRule's fields (``Name``, ``EventPattern``, ``State``, ``Description``)."""
    name = _check_name("name", request.get("Name"))
    pattern = _optional_string("eventPattern", request.get("EventPattern"))
    if pattern is None:
        raise AwsError(
            "ValidationException",
            "Parameter(s) EventPattern or ScheduleExpression must be specified.",
        )
    state = _optional_string("state", request.get("State")) or RuleState.ENABLED.value
    if state not in tuple(RuleState):
        raise _bad_state(state)
    description = _optional_string("description", request.get("Description")) or ""
    return Rule(name, pattern, RuleState(state), description, targets)


def put_rule(rules: Mapping[str, Rule], request: Mapping[str, Any]) -> tuple[dict[str, Rule], Rule]:
    """PutRule: create the rule, or replace its fields keeping its targets."""
    name = request.get("Name")
    existing = rules.get(name) if isinstance(name, str) else None
    rule = _rule_from_request(request, existing.targets if existing else ())
    return _with(rules, rule), rule


def put_targets(
    rules: Mapping[str, Rule], name: str, targets_request: object
) -> tuple[dict[str, Rule], dict[str, Any]]:
    """PutTargets: add or update targets; the answer has ``FailedEntryCount``/``FailedEntries``."""
    rule = _existing(rules, name)
    if not isinstance(targets_request, Sequence) or isinstance(targets_request, str):
        raise validation_error("targets", targets_request, "Member must be a list")
    if not 1 <= len(targets_request) <= MAX_TARGETS_PER_REQUEST:
        raise validation_error(
            "targets",
            targets_request,
            f"Member must have length between 1 and {MAX_TARGETS_PER_REQUEST}",
        )
    targets = {target.id: target for target in rule.targets}
    failed = []
    for index, entry in enumerate(targets_request, start=1):
        if not isinstance(entry, Mapping):
            raise validation_error(f"targets.{index}.member", entry, "Member must be a structure")
        try:
            target = target_from_request(entry)
        except AwsError as refusal:
            failed.append(
                {
                    "TargetId": entry.get("Id"),
                    "ErrorCode": refusal.aws_type,
                    "ErrorMessage": refusal.message,
                }
            )
            continue
        targets[target.id] = target
    if len(targets) > MAX_TARGETS:
        raise _limit_exceeded()
    updated = replace(rule, targets=tuple(targets.values()))
    return _with(rules, updated), {"FailedEntryCount": len(failed), "FailedEntries": failed}


def remove_targets(
    rules: Mapping[str, Rule], name: str, ids: Sequence[str]
) -> tuple[dict[str, Rule], dict[str, Any]]:
    """RemoveTargets: drop the targets with these ids (ids the rule lacks are ignored)."""
    rule = _existing(rules, name)
    gone = set(ids)
    kept = tuple(target for target in rule.targets if target.id not in gone)
    updated = replace(rule, targets=kept)
    return _with(rules, updated), {"FailedEntryCount": 0, "FailedEntries": []}


def delete_rule(rules: Mapping[str, Rule], name: str) -> dict[str, Rule]:
    """DeleteRule: only a rule without targets can go."""
    if _existing(rules, name).targets:
        raise AwsError("ValidationException", "Rule can't be deleted since it has targets.")
    return {key: rule for key, rule in rules.items() if key != name}


def describe_rule(rules: Mapping[str, Rule], name: str) -> dict[str, Any]:
    """DescribeRule: the rule's fields as AWS answers them."""
    return _existing(rules, name).describe()


def list_rules(rules: Mapping[str, Rule], prefix: str | None = None) -> dict[str, Any]:
    """ListRules: every rule whose name starts with ``prefix``, by name."""
    return {
        "Rules": [
            rules[name].describe()
            for name in sorted(rules)
            if prefix is None or name.startswith(prefix)
        ]
    }


def list_targets_by_rule(rules: Mapping[str, Rule], name: str) -> dict[str, Any]:
    """ListTargetsByRule: the rule's targets as PutTargets spelled them."""
    return {"Targets": [target.to_request() for target in _existing(rules, name).targets]}


def rule_to_bytes(rule: Rule) -> bytes:
    """The rule as the value of its record in the rules topic (keyed by its name)."""
    document = {
        "Name": rule.name,
        "EventPattern": rule.event_pattern,
        "State": rule.state.value,
        "Description": rule.description,
        "Targets": [target.to_request() for target in rule.targets],
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def rule_from_bytes(raw: bytes | None) -> Rule | None:
    """The rule a record of the rules topic holds; None for a tombstone (a deleted rule)."""
    if raw is None:
        return None
    document = json.loads(raw)
    if not isinstance(document, dict):
        raise AwsError("ValidationException", "A rule record must be a JSON object.")
    targets = tuple(target_from_request(entry) for entry in document.get("Targets", []))
    return _rule_from_request(document, targets)
