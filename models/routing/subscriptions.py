"""SNS subscriptions to our topics: Subscribe, Unsubscribe, ListSubscriptions on an immutable set.

A subscription set is a mapping of subscription id to :class:`Subscription`; every action
returns a new mapping. A topic is one of the routed topics (``ROUTED_ROLES``), named in
``TopicArn`` by its role or by an ARN ending in it; an endpoint is ``kafka:<topic>`` (protocol
``kafka``) or an ``http(s)://`` URL (protocol ``http``/``https``), as for rule targets.

As AWS documents it: ``Attributes`` are strings (``FilterPolicy`` JSON text, an empty one
clearing the policy; ``FilterPolicyScope`` ``MessageAttributes`` by default or
``MessageBody``; ``RawMessageDelivery`` ``true``/``false``); subscribing the same endpoint to
the same topic again answers the existing subscription, or refuses when its attributes differ;
refusals are ``InvalidParameterException`` ("Invalid parameter: ...") or ``NotFoundException``.

Where we had to choose (AWS does not document it): the id is given (``SubscriptionId``, 1..64
characters of ``[A-Za-z0-9-]``) or derived from topic and endpoint (a UUID 5), so replaying
Subscribe gives the same id; messages of refusals other than AWS's documented ones; ARNs in
region ``local`` of account ``000000000000``.
"""

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from models.routing.checks import AwsError
from models.routing.filter_policies import (
    FilterPolicy,
    FilterPolicyScope,
    InvalidFilterPolicy,
    MessageAttribute,
    compile_filter_policy,
)
from models.routing.rules import ACCOUNT, REGION, Destination, DestinationKind, parse_destination
from models.topics import ROUTED_ROLES, TopicRole

#: The topics one may subscribe to: those the router reads.
SUBSCRIBABLE_ROLES = ROUTED_ROLES
ATTRIBUTE_NAMES = ("FilterPolicy", "FilterPolicyScope", "RawMessageDelivery")

_SUBSCRIPTION_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
_NAMESPACE = uuid.UUID("6f1c5a52-0d43-5b1e-9a57-3e4d1c2b7a10")


def _invalid(reason: str) -> AwsError:
    return AwsError("InvalidParameterException", f"Invalid parameter: {reason}")


def _invalid_attribute(name: str, value: str, expected: str) -> AwsError:
    return _invalid(f"Attributes Reason: {name}: Invalid value [{value}]. {expected}")


def _scope(value: object) -> FilterPolicyScope:
    """``FilterPolicyScope`` as AWS accepts it: MessageAttributes or MessageBody."""
    if value not in tuple(FilterPolicyScope):
        raise _invalid_attribute(
            "FilterPolicyScope", str(value), "Please use either MessageBody or MessageAttributes"
        )
    return FilterPolicyScope(str(value))


def topic_arn(topic: TopicRole) -> str:
    """The ARN of one of our topics."""
    return f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic.value}"


@dataclass(frozen=True)
class Subscription:
    """An endpoint subscribed to a topic, with its filter policy (compiled once)."""

    id: str
    topic: TopicRole
    endpoint: str
    filter_policy: str | None = None
    filter_policy_scope: FilterPolicyScope = FilterPolicyScope.MESSAGE_ATTRIBUTES
    raw_message_delivery: bool = False
    destination: Destination = field(init=False, compare=False, repr=False)
    policy: FilterPolicy | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not _SUBSCRIPTION_ID.fullmatch(self.id):
            raise _invalid("SubscriptionId")
        if self.topic not in SUBSCRIBABLE_ROLES:
            raise AwsError("NotFoundException", "Topic does not exist")
        object.__setattr__(self, "topic", TopicRole(self.topic))
        object.__setattr__(self, "filter_policy_scope", _scope(self.filter_policy_scope))
        try:
            destination = parse_destination(self.endpoint)
        except ValueError as invalid:
            raise _invalid(f"Endpoint: {invalid}") from None
        policy = None
        if self.filter_policy:
            try:
                policy = compile_filter_policy(self.filter_policy, self.filter_policy_scope)
            except InvalidFilterPolicy as invalid:
                raise AwsError(invalid.aws_type, str(invalid)) from None
        object.__setattr__(self, "destination", destination)
        object.__setattr__(self, "policy", policy)

    @property
    def protocol(self) -> DestinationKind:
        """How the endpoint is reached: kafka, http or https."""
        return self.destination.kind

    @property
    def arn(self) -> str:
        """The subscription's ARN: its topic's ARN and its id."""
        return f"{topic_arn(self.topic)}:{self.id}"

    def accepts(self, message: str, attributes: Mapping[str, MessageAttribute]) -> bool:
        """Whether a message published to the topic passes the filter policy."""
        return self.policy is None or self.policy.matches(message, attributes)

    def attributes(self) -> dict[str, str]:
        """The subscription's attributes as AWS spells them (strings)."""
        answer = {
            "FilterPolicyScope": self.filter_policy_scope.value,
            "RawMessageDelivery": "true" if self.raw_message_delivery else "false",
        }
        if self.filter_policy:
            answer["FilterPolicy"] = self.filter_policy
        return answer

    def summary(self) -> dict[str, str]:
        """The subscription as ListSubscriptions answers it."""
        return {
            "SubscriptionArn": self.arn,
            "Owner": ACCOUNT,
            "Protocol": self.protocol.value,
            "Endpoint": self.endpoint,
            "TopicArn": topic_arn(self.topic),
        }


def _topic(value: object) -> TopicRole:
    """The topic role ``TopicArn`` names, by itself or as the last part of an ARN."""
    if not isinstance(value, str) or not value:
        raise _invalid("TopicArn")
    name = value.rsplit(":", 1)[-1]
    if name not in tuple(TopicRole) or TopicRole(name) not in SUBSCRIBABLE_ROLES:
        raise AwsError("NotFoundException", "Topic does not exist")
    return TopicRole(name)


def _string_attributes(value: object) -> dict[str, str]:
    """``Attributes``: a map of known names to strings."""
    if not isinstance(value, Mapping):
        raise _invalid("Attributes")
    for name, text in value.items():
        if name not in ATTRIBUTE_NAMES:
            raise _invalid(f"Attributes Reason: Unknown attribute name {name}")
        if not isinstance(text, str):
            raise _invalid(f"Attributes Reason: {name} must be a string")
    return dict(value)


def _subscription_from_request(request: Mapping[str, Any]) -> Subscription:
    """A subscription from Subscribe's fields, checked as AWS checks them."""
    topic = _topic(request.get("TopicArn"))
    protocol = request.get("Protocol")
    if protocol not in tuple(DestinationKind):
        raise _invalid(f"Amazon SNS does not support this protocol string: {protocol}")
    endpoint = request.get("Endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise _invalid("Endpoint")
    try:
        kind = parse_destination(endpoint).kind
    except ValueError as invalid:
        raise _invalid(f"Endpoint: {invalid}") from None
    if kind != protocol:
        raise _invalid("Endpoint must match the specified protocol")
    attributes = _string_attributes(request.get("Attributes", {}))
    scope = attributes.get("FilterPolicyScope", FilterPolicyScope.MESSAGE_ATTRIBUTES.value)
    raw = attributes.get("RawMessageDelivery", "false")
    if raw.lower() not in ("true", "false"):
        raise _invalid_attribute("RawMessageDelivery", raw, "Must be true or false.")
    given_id = request.get("SubscriptionId")
    if given_id is not None and not isinstance(given_id, str):
        raise _invalid("SubscriptionId")
    derived_id = str(uuid.uuid5(_NAMESPACE, f"{topic.value}|{endpoint}"))
    return Subscription(
        given_id or derived_id,
        topic,
        endpoint,
        filter_policy=attributes.get("FilterPolicy") or None,
        filter_policy_scope=_scope(scope),
        raw_message_delivery=raw.lower() == "true",
    )


def subscribe(
    subscriptions: Mapping[str, Subscription], request: Mapping[str, Any]
) -> tuple[dict[str, Subscription], Subscription]:
    """Subscribe: add the subscription, or answer the same one subscribed before."""
    subscription = _subscription_from_request(request)
    for existing in subscriptions.values():
        if (existing.topic, existing.endpoint) == (subscription.topic, subscription.endpoint):
            if existing.attributes() != subscription.attributes():
                raise _invalid(
                    "Attributes Reason: Subscription already exists with different attributes"
                )
            return dict(subscriptions), existing
    return {**subscriptions, subscription.id: subscription}, subscription


def unsubscribe(
    subscriptions: Mapping[str, Subscription], subscription_arn: str
) -> dict[str, Subscription]:
    """Unsubscribe: remove the subscription its ARN (or its id) names."""
    subscription_id = subscription_arn.rsplit(":", 1)[-1]
    if subscription_id not in subscriptions:
        raise AwsError("NotFoundException", "Subscription does not exist")
    return {key: value for key, value in subscriptions.items() if key != subscription_id}


def list_subscriptions(
    subscriptions: Mapping[str, Subscription], topic: TopicRole | None = None
) -> dict[str, Any]:
    """ListSubscriptions (or ListSubscriptionsByTopic with ``topic``), by topic then id."""
    chosen = [s for s in subscriptions.values() if topic is None or s.topic is topic]
    chosen.sort(key=lambda s: (s.topic.value, s.id))
    return {"Subscriptions": [s.summary() for s in chosen]}


NOTIFICATION_PROVIDER = "notification-provider"
"""The id of the subscription that hands the notifications to the e-mail/SMS provider."""


def notification_provider(endpoint: str) -> dict[str, Any]:
    """Subscribe's request of the provider: every notification, as it is, to ``endpoint``."""
    protocol = endpoint.split(":", 1)[0]
    return {
        "SubscriptionId": NOTIFICATION_PROVIDER,
        "TopicArn": TopicRole.NOTIFICATIONS.value,
        "Protocol": protocol,
        "Endpoint": endpoint,
        "Attributes": {"RawMessageDelivery": "true"},
    }


def subscription_to_bytes(subscription: Subscription) -> bytes:
    """The subscription as the value of its record (keyed by its id)."""
    document = {
        "SubscriptionId": subscription.id,
        "TopicArn": topic_arn(subscription.topic),
        "Protocol": subscription.protocol.value,
        "Endpoint": subscription.endpoint,
        "Attributes": subscription.attributes(),
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def subscription_from_bytes(raw: bytes | None) -> Subscription | None:
    """The subscription a record holds; None for a tombstone (an unsubscribed one)."""
    if raw is None:
        return None
    document = json.loads(raw)
    if not isinstance(document, dict):
        raise _invalid("a subscription record must be a JSON object")
    return _subscription_from_request(document)
