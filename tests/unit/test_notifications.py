"""Notifications: the customer hears about each order outcome exactly once."""

from datetime import UTC, datetime
from uuid import uuid4

from models.envelope import Envelope
from models.events import OrderConfirmed, RefundRequested, ReserveStock
from models.notification import notify


def outcome(data: object) -> Envelope:
    """An event at a fixed time."""
    return Envelope.of(
        data,
        event_id=uuid4(),
        source="ecommerce-streams",
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_confirmed_order_asks_for_one_confirmation_email_to_its_customer() -> None:
    confirmed = outcome(
        OrderConfirmed(order_id="o-1", customer_id="c-9", total="5.00", currency="EUR")
    )
    [notification] = notify(confirmed)
    assert notification.data.customer_id == "c-9"
    assert notification.data.template == "order-confirmed"
    assert notification.causation_id == confirmed.event_id
    assert notification.data.key == "c-9"


def test_refund_tells_the_customer_their_money_is_coming_back() -> None:
    refund = RefundRequested(
        order_id="o-1", customer_id="c-9", payment_id="p-1", amount="5.00", currency="EUR"
    )
    assert [n.data.template for n in notify(outcome(refund))] == ["refund-issued"]


def test_events_the_customer_does_not_care_about_notify_nobody() -> None:
    assert notify(outcome(ReserveStock(order_id="o-1", sku="S-1", qty=1))) == []
