"""Every event a rule or subscription matches reaches each of its routes exactly once.

The catalogues a run routes with are known (the verifier is given them); the router is a
pure function of the event, so the verifier routes every committed event of the routed
topics again and compares, delivery by delivery (route and event id, from the records'
headers), with what the Kafka targets and ``http-deliveries`` hold.
"""

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ecommerce_streams.harness.verify.records import Record
from ecommerce_streams.harness.verify.report import VerifyReport
from models.envelope import InvalidEvent, decode_event
from models.routing.router import EVENT_ID_HEADER, ROUTE_HEADER, route
from models.routing.rules import Rule
from models.routing.subscriptions import Subscription
from models.topics import TopicRole


@dataclass(frozen=True)
class RoutingPlan:
    """The rules and subscriptions a run routes with, and the Kafka topics they deliver to."""

    rules: tuple[Rule, ...]
    subscriptions: tuple[Subscription, ...]
    targets: tuple[str, ...]


_ANY_TIME = datetime.fromtimestamp(0, UTC)
"""Ingestion time only shapes what a transformer writes, never whether an event is routed."""


def check_routing(
    routed: Mapping[TopicRole, Sequence[Record]],
    delivered: Sequence[Record],
    rules: Collection[Rule],
    subscriptions: Collection[Subscription],
    report: VerifyReport,
) -> None:
    """Report each delivery missing, repeated, or made for an event its route does not match."""
    expected: set[tuple[str, str]] = set()
    for role, records in routed.items():
        for record in records:
            if record.value is None:
                continue
            try:
                envelope = decode_event(record.value)
            except InvalidEvent:
                continue
            for delivery in route(
                rules, subscriptions, role, envelope, record.value, record.headers, _ANY_TIME
            ):
                expected.add((delivery.route, str(envelope.event_id)))
    made = Counter(
        (record.header(ROUTE_HEADER) or "?", record.header(EVENT_ID_HEADER) or "?")
        for record in delivered
    )
    for (route_name, event_id), count in sorted(made.items()):
        if (route_name, event_id) not in expected:
            report.violations.append(
                f"routing: {route_name} received event {event_id}, which it does not match"
            )
        elif count > 1:
            report.violations.append(
                f"routing: {route_name} received event {event_id} {count} times"
            )
    for route_name, event_id in sorted(expected - made.keys()):
        report.violations.append(f"routing: {route_name} never received event {event_id}")
    report.routed.update(route_name for route_name, _ in made.elements())
