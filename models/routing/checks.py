"""AWS's pattern checks on their request bodies: TestEventPattern and the filter-policy test.

``check_event_pattern`` answers EventBridge's ``TestEventPattern`` and
``check_filter_policy`` the same question for an SNS filter policy, each from the
request body as AWS's JSON API names its fields. Every refusal is an :class:`AwsError`
with AWS's error type and message, ready to be sent as ``{"__type", "message"}``.

Where we had to choose: AWS does not document the text it answers for an ``Event`` that
is not a JSON object or lacks one of its mandatory fields; ours is
``InvalidEventPatternException`` with "Event is not valid. Reason: ...". A request field
of the wrong type or missing is AWS's generic ``ValidationException``.
"""

import json
from collections.abc import Mapping
from typing import Any

from models.routing.event_patterns import InvalidEventPattern, compile_event_pattern
from models.routing.filter_policies import (
    FilterPolicyScope,
    InvalidFilterPolicy,
    MessageAttribute,
    compile_filter_policy,
)

#: The fields TestEventPattern requires of its ``Event``.
MANDATORY_EVENT_FIELDS = ("id", "account", "source", "time", "region", "resources", "detail-type")
#: The data types an SNS message attribute may have.
ATTRIBUTE_TYPES = ("String", "Number", "String.Array", "Binary")


class AwsError(Exception):
    """A refused request, with AWS's error type and message."""

    def __init__(self, aws_type: str, message: str) -> None:
        super().__init__(message)
        self.aws_type = aws_type
        self.message = message

    def body(self) -> dict[str, str]:
        """The error as AWS's JSON API sends it."""
        return {"__type": self.aws_type, "message": self.message}


def check_event_pattern(request: Mapping[str, Any]) -> bool:
    """Whether the request's ``Event`` matches its ``EventPattern`` (AWS TestEventPattern)."""
    pattern_text = _required_string(request, "EventPattern")
    event_text = _required_string(request, "Event")
    try:
        pattern = compile_event_pattern(pattern_text)
    except InvalidEventPattern as invalid:
        raise AwsError(invalid.aws_type, str(invalid)) from invalid
    return pattern.matches(_event(event_text))


def check_filter_policy(request: Mapping[str, Any]) -> bool:
    """Whether the request's message passes its ``FilterPolicy`` in its ``FilterPolicyScope``."""
    policy_text = _required_string(request, "FilterPolicy")
    scope_text = request.get("FilterPolicyScope", FilterPolicyScope.MESSAGE_ATTRIBUTES.value)
    scopes = [scope.value for scope in FilterPolicyScope]
    if scope_text not in scopes:
        raise AwsError(
            "InvalidParameterException",
            f"Invalid parameter: FilterPolicyScope: must be one of {', '.join(scopes)}",
        )
    message = request.get("Message", "")
    if not isinstance(message, str):
        raise _validation("Message", "Member must be a string")
    attributes = _attributes(request.get("MessageAttributes", {}))
    try:
        policy = compile_filter_policy(policy_text, FilterPolicyScope(scope_text))
    except InvalidFilterPolicy as invalid:
        raise AwsError(invalid.aws_type, str(invalid)) from invalid
    return policy.matches(message, attributes)


def _required_string(request: Mapping[str, Any], name: str) -> str:
    value = request.get(name)
    if value is None:
        raise _validation(name, "Member must not be null")
    if not isinstance(value, str):
        raise _validation(name, "Member must be a string")
    return value


def _validation(name: str, constraint: str) -> AwsError:
    field = name[:1].lower() + name[1:]
    return AwsError(
        "ValidationException",
        f"1 validation error detected: Value at '{field}' failed to satisfy constraint: "
        f"{constraint}",
    )


def _event(text: str) -> Mapping[str, Any]:
    """The decoded ``Event``: a JSON object with every mandatory field."""
    try:
        event = json.loads(text)
    except ValueError as error:
        raise _invalid_event(f"Event is not valid JSON: {error}") from error
    if not isinstance(event, dict):
        raise _invalid_event("Event must be a JSON object")
    missing = [field for field in MANDATORY_EVENT_FIELDS if field not in event]
    if missing:
        raise _invalid_event(f"Provided event is missing required fields: {', '.join(missing)}")
    return event


def _invalid_event(reason: str) -> AwsError:
    return AwsError(InvalidEventPattern.aws_type, f"Event is not valid. Reason: {reason}")


def _attributes(value: object) -> dict[str, MessageAttribute]:
    """``MessageAttributes`` as AWS sends them: name -> {DataType, StringValue}."""
    if not isinstance(value, dict):
        raise _validation("MessageAttributes", "Member must be a map")
    attributes = {}
    for name, attribute in value.items():
        if not isinstance(attribute, dict):
            raise _validation(f"MessageAttributes.{name}", "Member must be a structure")
        data_type = attribute.get("DataType")
        if data_type not in ATTRIBUTE_TYPES:
            raise AwsError(
                "InvalidParameterException",
                f"Invalid parameter: MessageAttributes: The message attribute '{name}' has "
                f"an invalid message attribute type, the set of supported type prefixes is "
                f"{', '.join(ATTRIBUTE_TYPES)}.",
            )
        string_value = attribute.get("StringValue", "")
        if not isinstance(string_value, str):
            raise _validation(f"MessageAttributes.{name}.StringValue", "Member must be a string")
        attributes[name] = MessageAttribute(data_type, string_value)
    return attributes
