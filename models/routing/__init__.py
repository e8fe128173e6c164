"""Content-based routing: EventBridge event patterns and SNS filter policies on one engine.

``compile_event_pattern`` and ``compile_filter_policy`` parse a rule once into the matchers
of ``conditions`` (exact values, prefix/suffix, equals-ignore-case, wildcard, anything-but,
numeric ranges, CIDR, exists, nested objects and ``$or``); matching a decoded event is then
a walk of that tree, with no parsing and no regex compiled per match.
"""

from models.routing.event_patterns import EventPattern, InvalidEventPattern, compile_event_pattern
from models.routing.filter_policies import (
    FilterPolicy,
    FilterPolicyScope,
    InvalidFilterPolicy,
    MessageAttribute,
    compile_filter_policy,
)

__all__ = [
    "EventPattern",
    "FilterPolicy",
    "FilterPolicyScope",
    "InvalidEventPattern",
    "InvalidFilterPolicy",
    "MessageAttribute",
    "compile_event_pattern",
    "compile_filter_policy",
]
