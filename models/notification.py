"""Which order outcomes the customer hears about, and with which message template."""

from models.envelope import Envelope, derive
from models.events import (
    NotificationRequested,
    OrderCancelled,
    OrderConfirmed,
    OrderRejected,
    RefundRequested,
)

TEMPLATES: dict[type, str] = {
    OrderConfirmed: "order-confirmed",
    OrderRejected: "order-rejected",
    OrderCancelled: "order-cancelled",
    RefundRequested: "refund-issued",
}


def notify(outcome: Envelope) -> list[Envelope]:
    """One e-mail notification per customer-facing order outcome; nothing otherwise."""
    data = outcome.data
    if not isinstance(data, OrderConfirmed | OrderRejected | OrderCancelled | RefundRequested):
        return []
    template = TEMPLATES[type(data)]
    notification = NotificationRequested(
        customer_id=data.customer_id,
        order_id=data.order_id,
        channel="email",
        template=template,
    )
    return [derive(outcome, notification)]
