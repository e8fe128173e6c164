"""Route one event: its EventBridge shape, the rules and subscriptions it matches, what each gets.

Every event on a routed topic (``ROUTED_ROLES``) is offered to the enabled rules as an
EventBridge event and to the subscriptions of its topic as an SNS message. The mapping
from our envelope, the same for every event type:

======================  ==========================================================
EventBridge field       taken from
======================  ==========================================================
``version``             ``"0"``, as EventBridge writes it
``id``                  ``event_id``
``detail-type``         ``event_type`` (``OrderConfirmed``, ``ShipmentRequested``...)
``source``              ``ecommerce-streams.<topic>`` (``ecommerce-streams.order-events``)
``account``/``region``  ``000000000000`` / ``local``, as in every ARN of ours
``time``                ``occurred_at`` to the second (``2026-11-30T08:00:00Z``)
``resources``           ``[]``
``detail``              ``data`` (the payload), money amounts as JSON numbers
======================  ==========================================================

Money is written as strings on our topics (exact decimals); in ``detail`` it is a number so
that ``numeric`` patterns compare it (``{"total": [{"numeric": [">", 500]}]}``); within
EventBridge's numeric precision (six decimals) nothing is lost. The envelope's
``source`` (web, mobile...), ``correlation_id`` and ``causation_id`` are not part of
EventBridge's shape; subscriptions see them as message attributes.

An SNS message is the record as it is on the topic (the envelope's JSON). Its attributes
are the Kafka record's headers (``String``) and the envelope's fields: ``event_type``,
``source``, ``correlation_id``, ``causation_id`` and ``event_id`` (``String``),
``schema_version`` (``Number``); the envelope's fields win over a header of the same name.
With raw message delivery the subscriber receives the message as it is; without it, SNS's
notification JSON (``Type``, ``MessageId``, ``TopicArn``, ``Message``, ``Timestamp``,
``MessageAttributes``).

What each route receives depends only on the event, its record and the rules: routing the
same input again (after a crash, before its transaction committed) writes the same bytes.
"""

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from models.envelope import Envelope
from models.ids import name_based_id
from models.routing.filter_policies import FilterPolicyScope, MessageAttribute
from models.routing.rules import ACCOUNT, REGION, Destination, Rule
from models.routing.subscriptions import Subscription, topic_arn
from models.topics import TopicRole

EVENT_SOURCE_PREFIX = "ecommerce-streams."
ROUTE_HEADER = "es-route"
"""The header naming the route of a delivered record."""
EVENT_ID_HEADER = "es-event-id"
"""The header holding the id of the event a delivered record carries."""
ENDPOINT_HEADER = "es-endpoint"
"""The header of an HTTP delivery naming its endpoint."""
RETRY_POLICY_HEADER = "es-retry-policy"
"""The header of an HTTP delivery holding its target's RetryPolicy (JSON), when it has one."""
_MESSAGE_IDS = uuid.UUID("0b7d0f5e-4a2e-5d7c-8f65-2c9d5e1a7b34")


@dataclass(frozen=True, slots=True)
class Routed:
    """One delivery of one event: which route, where to, and the bytes it receives."""

    route: str
    """``rule/<rule name>/<target id>`` or ``subscription/<subscription id>``."""
    destination: Destination
    value: bytes
    retry_policy: Mapping[str, int] | None = None
    """The rule target's RetryPolicy limits, for the delivery service (HTTP targets)."""


def rule_route(rule: Rule, target_id: str) -> str:
    """The route name of one target of a rule."""
    return f"rule/{rule.name}/{target_id}"


def subscription_route(subscription: Subscription) -> str:
    """The route name of a subscription."""
    return f"subscription/{subscription.id}"


def _numbers_for_money(document: object, typed: object) -> object:
    """``document`` (JSON) with every value ``typed`` holds as a Decimal written as a number."""
    if isinstance(typed, Decimal):
        return int(typed) if typed == typed.to_integral_value() else float(typed)
    if isinstance(document, dict) and isinstance(typed, dict):
        return {key: _numbers_for_money(value, typed.get(key)) for key, value in document.items()}
    if isinstance(document, list) and isinstance(typed, list | tuple):
        return [
            _numbers_for_money(value, kind) for value, kind in zip(document, typed, strict=True)
        ]
    return document


def event_bridge_event(
    envelope: Envelope, topic: TopicRole, document: Mapping[str, Any]
) -> dict[str, Any]:
    """The EventBridge event of an envelope read from ``topic`` (``document``: its JSON)."""
    return {
        "version": "0",
        "id": str(envelope.event_id),
        "detail-type": envelope.event_type,
        "source": f"{EVENT_SOURCE_PREFIX}{topic.value}",
        "account": ACCOUNT,
        "time": envelope.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [],
        "detail": _numbers_for_money(document["data"], envelope.data.model_dump()),
    }


def message_attributes(
    envelope: Envelope, headers: Iterable[tuple[str, bytes]]
) -> dict[str, MessageAttribute]:
    """The SNS message attributes of a record: its headers, then the envelope's fields."""
    attributes = {
        name: MessageAttribute("String", value.decode("utf-8", "replace"))
        for name, value in headers
    }
    fields = {
        "event_id": str(envelope.event_id),
        "event_type": envelope.event_type,
        "source": envelope.source,
        "correlation_id": envelope.correlation_id,
    }
    if envelope.causation_id is not None:
        fields["causation_id"] = str(envelope.causation_id)
    attributes.update((name, MessageAttribute("String", value)) for name, value in fields.items())
    attributes["schema_version"] = MessageAttribute("Number", str(envelope.schema_version))
    return attributes


def _timestamp(moment: datetime) -> str:
    """SNS's ``Timestamp``: UTC with milliseconds."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sns_notification(
    subscription: Subscription,
    envelope: Envelope,
    message: str,
    attributes: Mapping[str, MessageAttribute],
) -> bytes:
    """SNS's notification JSON of one message for one subscription (raw delivery off)."""
    document: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": str(name_based_id(_MESSAGE_IDS, f"{envelope.event_id}/{subscription.id}")),
        "TopicArn": topic_arn(subscription.topic),
        "Message": message,
        "Timestamp": _timestamp(envelope.occurred_at),
    }
    if attributes:
        document["MessageAttributes"] = {
            name: {"Type": attribute.data_type, "Value": attribute.string_value}
            for name, attribute in sorted(attributes.items())
        }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _accepts(
    subscription: Subscription,
    document: Mapping[str, Any],
    attributes: Mapping[str, MessageAttribute],
) -> bool:
    policy = subscription.policy
    if policy is None:
        return True
    if policy.scope is FilterPolicyScope.MESSAGE_BODY:
        return policy.matches_body(document)
    return policy.matches_attributes(attributes)


def route(
    rules: Iterable[Rule],
    subscriptions: Iterable[Subscription],
    topic: TopicRole,
    envelope: Envelope,
    raw: bytes,
    headers: Sequence[tuple[str, bytes]],
    ingestion_time: datetime,
) -> list[Routed]:
    """Every delivery of one event read from ``topic``: matched rules' targets, then subscriptions.

    ``raw`` is the record's value (the envelope's JSON), ``headers`` its Kafka headers and
    ``ingestion_time`` its timestamp (``aws.events.event.ingestion-time``).
    """
    subscribed = [s for s in subscriptions if s.topic is topic]
    rules = list(rules)
    if not rules and not subscribed:
        return []
    document = json.loads(raw)
    routed: list[Routed] = []
    if rules:
        event = event_bridge_event(envelope, topic, document)
        received = _timestamp(ingestion_time)
        for rule in sorted(rules, key=lambda r: r.name):
            if not rule.matches(event):
                continue
            delivery = rule.delivery(received)
            routed.extend(
                Routed(
                    rule_route(rule, target.id),
                    target.destination,
                    target.render(event, delivery),
                    target.retry_policy,
                )
                for target in rule.targets
            )
    if subscribed:
        attributes = message_attributes(envelope, headers)
        message = raw.decode()
        for subscription in sorted(subscribed, key=lambda s: s.id):
            if not _accepts(subscription, document, attributes):
                continue
            value = (
                raw
                if subscription.raw_message_delivery
                else sns_notification(subscription, envelope, message, attributes)
            )
            routed.append(Routed(subscription_route(subscription), subscription.destination, value))
    return routed
