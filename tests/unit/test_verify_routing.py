"""The verifier's routing check: each matched event reaches each route once, nothing else."""

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from ecommerce_streams.harness.verify.records import Record
from ecommerce_streams.harness.verify.report import VerifyReport
from ecommerce_streams.harness.verify.routing import check_routing
from models.envelope import Envelope, encode_event
from models.events import OrderConfirmed
from models.routing.router import EVENT_ID_HEADER, ROUTE_HEADER
from models.routing.rules import Rule, Target
from models.topics import TopicRole
from tests.unit.routing_samples import HIGH_VALUE

RULE = Rule(
    "high-value",
    json.dumps(HIGH_VALUE),
    targets=(Target("review", "kafka:fraud-review"),),
)
ROUTE = "rule/high-value/review"


def confirmed(order_id: str, total: str) -> Record:
    """An OrderConfirmed record on order-events."""
    envelope = Envelope.of(
        OrderConfirmed(order_id=order_id, customer_id="c", total=Decimal(total), currency="EUR"),
        event_id=uuid.uuid4(),
        source="web",
        occurred_at=datetime(2026, 11, 30, tzinfo=UTC),
    )
    return Record("order-events", 0, 0, order_id.encode(), encode_event(envelope))


def delivery(event: Record, route: str = ROUTE) -> Record:
    """The record the router writes for ``event`` on ``route``."""
    event_id = json.loads(event.value or b"")["event_id"]
    headers = ((ROUTE_HEADER, route.encode()), (EVENT_ID_HEADER, event_id.encode()))
    return Record("fraud-review", 0, 0, event.key, b"{}", headers)


def checked(events: list[Record], delivered: list[Record]) -> VerifyReport:
    report = VerifyReport()
    check_routing({TopicRole.ORDER_EVENTS: events}, delivered, (RULE,), (), report)
    return report


def test_each_matched_event_delivered_once_holds_and_is_counted_by_route() -> None:
    big, small = confirmed("o-1", "612.50"), confirmed("o-2", "20.00")
    report = checked([big, small], [delivery(big)])
    assert report.violations == []
    assert report.routed == {ROUTE: 1}


def test_a_matched_event_never_delivered_is_a_violation() -> None:
    big = confirmed("o-1", "612.50")
    [violation] = checked([big], []).violations
    assert violation.startswith(f"routing: {ROUTE} never received event")


def test_a_delivery_made_twice_is_a_violation() -> None:
    big = confirmed("o-1", "612.50")
    [violation] = checked([big], [delivery(big), delivery(big)]).violations
    assert violation.endswith("2 times")


def test_a_delivery_of_an_event_the_route_does_not_match_is_a_violation() -> None:
    small = confirmed("o-2", "20.00")
    [violation] = checked([small], [delivery(small)]).violations
    assert violation.endswith("which it does not match")
