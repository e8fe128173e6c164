"""SNS subscription filter policies: a dialect of the event-pattern grammar, with SNS's limits.

A policy applies to a message's attributes (the default scope, flat) or to its body (a JSON
object, nested policies allowed). Both compile into the shared matching engine; the
attributes are first turned into the JSON object they describe (``String`` as a string,
``Number`` as a number, ``String.Array`` as its decoded array, ``Binary`` left out).

SNS's documented limits, enforced with its error texts: five keys (every key for attributes,
top-level keys for a body), 150 combinations (the product of each array's length, times
its nesting depth for a body; ``$or`` branches add up), numbers within -1e9..1e9 at five
decimals, no nesting in the attributes scope.

Where we had to choose (AWS does not document it):

- ``wildcard`` is refused as an unrecognized match type (SNS does not list it);
- a ``Binary`` attribute, or a ``String.Array`` whose value is not a JSON array, is treated
  as absent: only ``exists: false`` matches it;
- a ``Number`` attribute matches numbers only, never the string of its digits;
- the empty policy ``{}`` accepts every message (AWS uses it to clear a policy);
- the attributes scope refuses nesting with AWS's text, which has no ``FilterPolicy:``.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from models.routing.conditions import NumericDomain, ObjectMatcher
from models.routing.event_patterns import (
    EVENT_PATTERN_OPERATORS,
    PatternDialect,
    compile_tree,
    is_or_relationship,
    parse_document,
)

MAX_KEYS = 5
MAX_COMBINATIONS = 150
NESTED_ATTRIBUTES_REFUSAL = (
    "Filter policy scope MessageAttributes does not support nested filter policy"
)


class FilterPolicyScope(StrEnum):
    """What a filter policy applies to."""

    MESSAGE_ATTRIBUTES = "MessageAttributes"
    MESSAGE_BODY = "MessageBody"


class InvalidFilterPolicy(ValueError):
    """A filter policy SNS would refuse, with AWS's error type and message."""

    aws_type = "InvalidParameterException"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        where = "" if reason == NESTED_ATTRIBUTES_REFUSAL else "FilterPolicy: "
        super().__init__(f"Invalid parameter: {where}{reason}")


@dataclass(frozen=True, slots=True)
class MessageAttribute:
    """One SNS message attribute: its data type and its value as a string."""

    data_type: str
    string_value: str


def _dialect(scope: FilterPolicyScope) -> PatternDialect:
    """The SNS dialect of the pattern grammar for one scope."""
    return PatternDialect(
        operators=EVENT_PATTERN_OPERATORS - {"wildcard"},
        domain=NumericDomain(limit=1.0e9, decimals=5),
        fail=InvalidFilterPolicy,
        allows_nesting=scope is FilterPolicyScope.MESSAGE_BODY,
        nesting_refusal=NESTED_ATTRIBUTES_REFUSAL,
        lenient_or=True,
        anything_but_forms=frozenset({"equals-ignore-case", "prefix", "suffix"}),
    )


_DIALECTS = {scope: _dialect(scope) for scope in FilterPolicyScope}


def _or_branches(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The branches of the document's ``$or``, when SNS reads it as an OR."""
    value: list[Mapping[str, Any]] = document.get("$or") or []
    return value if is_or_relationship(value) else []


def _keys(document: Mapping[str, Any], *, nested: bool) -> set[str]:
    """The keys SNS counts: those at this level (and, ``nested``, below), through ``$or``."""
    keys: set[str] = set()
    branches = _or_branches(document)
    for name, value in document.items():
        if branches and name == "$or":
            continue
        keys.add(name)
        if nested and isinstance(value, Mapping):
            keys |= _keys(value, nested=True)
    for branch in branches:
        keys |= _keys(branch, nested=nested)
    return keys


def combinations(document: Mapping[str, Any], depth: int = 1) -> int:
    """SNS's complexity: arrays' lengths (times their depth) multiplied, ``$or`` branches added."""
    total = 1
    branches = _or_branches(document)
    for name, value in document.items():
        if branches and name == "$or":
            total *= sum(combinations(branch, depth) for branch in branches)
        elif isinstance(value, Mapping):
            total *= combinations(value, depth + 1)
        elif isinstance(value, list):
            total *= depth * len(value)
    return total


def _number(text: str) -> int | float | str:
    """A ``Number`` attribute's value as a number (its text if it is not one)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _attribute_value(attribute: MessageAttribute) -> object:
    """The JSON value an attribute stands for, or None for one filtering ignores."""
    data_type = attribute.data_type
    if data_type.startswith("String.Array"):
        try:
            decoded = json.loads(attribute.string_value)
        except ValueError:
            return None
        return decoded if isinstance(decoded, list) else None
    if data_type.startswith("Number"):
        return _number(attribute.string_value)
    if data_type.startswith("String"):
        return attribute.string_value
    return None


def _field_names(matcher: ObjectMatcher) -> frozenset[str]:
    """Every field name a (flat) matcher tests, through its ``$or`` groups."""
    names = set(matcher.field_names)
    for group in matcher.alternatives:
        for branch in group:
            names |= _field_names(branch)
    return frozenset(names)


class FilterPolicy:
    """A compiled SNS subscription filter policy for one scope."""

    __slots__ = ("attribute_names", "matcher", "scope", "source")

    def __init__(
        self, source: Mapping[str, Any], matcher: ObjectMatcher | None, scope: FilterPolicyScope
    ) -> None:
        """``matcher`` is None for the empty policy, which accepts everything."""
        self.source = source
        self.matcher = matcher
        self.scope = scope
        self.attribute_names = frozenset() if matcher is None else _field_names(matcher)

    def matches_attributes(self, attributes: Mapping[str, MessageAttribute]) -> bool:
        """Whether a message with these attributes passes (MessageAttributes scope)."""
        if self.matcher is None:
            return True
        document: dict[str, Any] = {}
        for name in self.attribute_names:
            attribute = attributes.get(name)
            value = None if attribute is None else _attribute_value(attribute)
            if value is not None:
                document[name] = value
        return self.matcher.matches(document)

    def matches_body(self, body: Mapping[str, Any]) -> bool:
        """Whether a message with this (decoded) JSON body passes (MessageBody scope)."""
        return self.matcher is None or self.matcher.matches(body)

    def matches(self, message_body: str, attributes: Mapping[str, MessageAttribute]) -> bool:
        """Whether the message passes, looking at what the policy's scope says."""
        if self.matcher is None or self.scope is FilterPolicyScope.MESSAGE_ATTRIBUTES:
            return self.matches_attributes(attributes)
        try:
            body = json.loads(message_body)
        except ValueError:
            return False
        return isinstance(body, dict) and self.matches_body(body)


def compile_filter_policy(
    policy: str | Mapping[str, Any],
    scope: FilterPolicyScope = FilterPolicyScope.MESSAGE_ATTRIBUTES,
) -> FilterPolicy:
    """Compile a filter policy for a scope, or raise ``InvalidFilterPolicy``."""
    scope = FilterPolicyScope(scope)
    dialect = _DIALECTS[scope]
    document = parse_document(policy, dialect)
    if not document:
        return FilterPolicy(document, None, scope)
    nested = scope is FilterPolicyScope.MESSAGE_ATTRIBUTES
    if len(_keys(document, nested=nested)) > MAX_KEYS:
        raise InvalidFilterPolicy("Filter policy can not have more than 5 keys")
    if combinations(document) > MAX_COMBINATIONS:
        raise InvalidFilterPolicy("Filter policy is too complex")
    return FilterPolicy(document, compile_tree(document, dialect), scope)
