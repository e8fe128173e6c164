"""Analytics: order outcomes become per-minute increments of revenue and counts."""

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

from models.analytics import add, measure, window_key, window_start
from models.envelope import Envelope
from models.events import OrderConfirmed, OrderRejected, PaymentAuthorized

AT = datetime(2026, 1, 1, 12, 34, 56, tzinfo=UTC)


def outcome(data: object) -> Envelope:
    """An order outcome at 12:34:56."""
    return Envelope.of(data, event_id=uuid4(), source="ecommerce-streams", occurred_at=AT)


def test_window_start_is_the_minute_containing_the_event() -> None:
    assert window_start(AT) == datetime(2026, 1, 1, 12, 34, tzinfo=UTC)


def test_confirmed_order_adds_its_revenue_and_one_confirmed_order() -> None:
    confirmed = OrderConfirmed(order_id="o-1", customer_id="c-1", total="19.90", currency="EUR")
    increments = [e.data for e in measure(outcome(confirmed))]
    assert [(i.metric, i.amount) for i in increments] == [
        ("revenue.EUR", Decimal("19.90")),
        ("orders.confirmed", Decimal(1)),
    ]
    assert {i.window_start for i in increments} == {window_start(AT)}


def test_rejected_order_counts_once_and_adds_no_revenue() -> None:
    rejected = OrderRejected(order_id="o-1", customer_id="c-1", reason="out_of_stock")
    assert [e.data.metric for e in measure(outcome(rejected))] == ["orders.rejected"]


def test_events_that_are_not_order_outcomes_measure_nothing() -> None:
    payment = PaymentAuthorized(order_id="o-1", payment_id="p-1", amount="1.00", currency="EUR")
    assert measure(outcome(payment)) == []


def test_window_totals_add_up_increments_of_the_same_window() -> None:
    confirmed = OrderConfirmed(order_id="o-1", customer_id="c-1", total="10.00", currency="EUR")
    revenue = measure(outcome(confirmed))[0].data
    total = add(add(None, revenue), revenue)
    assert total.amount == Decimal("20.00")
    assert window_key(revenue) == "revenue.EUR@2026-01-01T12:34:00+00:00"


def test_increments_replay_with_the_same_ids() -> None:
    confirmed = outcome(
        OrderConfirmed(order_id="o-1", customer_id="c-1", total="10.00", currency="EUR")
    )
    assert [e.event_id for e in measure(confirmed)] == [e.event_id for e in measure(confirmed)]
