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
    template = TEMPLATES.get(type(outcome.data))
    if template is None:
        return []
    notification = NotificationRequested(
        customer_id=outcome.data.customer_id,
        order_id=outcome.data.order_id,
        channel="email",
        template=template,
    )
    return [derive(outcome, notification)]
