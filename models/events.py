"""The shop's event payloads, one class per event type, grouped by the topic they travel on."""

from collections import Counter
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import AfterValidator, Field, model_validator

from models.base import Record
from models.currency import Currency
from models.fields import (
    Adjustment,
    CustomerId,
    FreeText,
    OrderId,
    PaymentId,
    Quantity,
    ReceivedQuantity,
    Sku,
    TemplateName,
    UtcDatetime,
)
from models.money import Money
from models.topics import TopicRole

MAX_LINES = 50


class Payload(Record):
    """The body of an event; its class name is its event type."""

    event_type: ClassVar[str] = "Payload"
    topic: ClassVar[TopicRole]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Name every payload class's event type after the class."""
        super().__pydantic_init_subclass__(**kwargs)
        cls.event_type = cls.__name__

    @property
    def key(self) -> str:
        """The Kafka partition key the event is published under."""
        raise NotImplementedError(f"{type(self).__name__} has no partition key")


class _KeyedByOrder(Payload):
    """A payload partitioned by the order it concerns."""

    order_id: OrderId

    @property
    def key(self) -> str:
        """Partition by order id."""
        return self.order_id


class _KeyedBySku(Payload):
    """A payload partitioned by the sku it concerns."""

    sku: Sku

    @property
    def key(self) -> str:
        """Partition by sku."""
        return self.sku


class OrderLine(Record):
    """One sku of an order: how many units at what unit price."""

    sku: Sku
    qty: Quantity
    unit_price: Money


def _valid_lines(lines: tuple[OrderLine, ...]) -> tuple[OrderLine, ...]:
    """Require 1..50 lines and at most one line per sku."""
    if not 1 <= len(lines) <= MAX_LINES:
        raise ValueError(f"an order has 1 to {MAX_LINES} lines, not {len(lines)}")
    repeated = sorted(sku for sku, n in Counter(line.sku for line in lines).items() if n > 1)
    if repeated:
        raise ValueError(f"each sku may appear on one line only; repeated: {', '.join(repeated)}")
    return lines


OrderLines = Annotated[tuple[OrderLine, ...], AfterValidator(_valid_lines)]


# --- topic "orders", key order_id -----------------------------------------------------------


class OrderPlaced(_KeyedByOrder):
    """A customer checked out: what they bought, what it costs and where it goes."""

    topic: ClassVar[TopicRole] = TopicRole.ORDERS

    customer_id: CustomerId
    lines: OrderLines
    currency: Currency
    total: Money
    shipping_address: FreeText
    gift_note: FreeText | None = None
    """Since schema version 2: a message for the recipient; no decision depends on it."""

    @model_validator(mode="after")
    def _total_matches_lines(self) -> Self:
        """Require the total to equal the sum of the lines."""
        expected = sum((line.qty * line.unit_price for line in self.lines), start=0)
        if self.total != expected:
            raise ValueError(f"total {self.total} does not equal the sum of the lines {expected}")
        return self


class OrderCancellationRequested(_KeyedByOrder):
    """The customer asked to cancel the order."""

    topic: ClassVar[TopicRole] = TopicRole.ORDERS

    reason: FreeText


# --- topic "payments", key order_id ---------------------------------------------------------


class PaymentAuthorized(_KeyedByOrder):
    """The payment gateway authorized an amount for the order."""

    topic: ClassVar[TopicRole] = TopicRole.PAYMENTS

    payment_id: PaymentId
    amount: Money
    currency: Currency


class PaymentDeclined(_KeyedByOrder):
    """The payment gateway declined the customer's payment for the order."""

    topic: ClassVar[TopicRole] = TopicRole.PAYMENTS

    payment_id: PaymentId
    reason: FreeText


# --- topic "inventory", key sku -------------------------------------------------------------


class StockReceived(_KeyedBySku):
    """The warehouse took in a delivery of a sku."""

    topic: ClassVar[TopicRole] = TopicRole.INVENTORY

    qty: ReceivedQuantity


class StockAdjusted(_KeyedBySku):
    """The warehouse corrected the units on hand of a sku (stock-take, damage, ...)."""

    topic: ClassVar[TopicRole] = TopicRole.INVENTORY

    delta: Adjustment
    reason: FreeText


# --- topic "inventory-commands", key sku ----------------------------------------------------


class _StockCommand(_KeyedBySku):
    """A request from an order to the inventory of one sku."""

    topic: ClassVar[TopicRole] = TopicRole.INVENTORY_COMMANDS

    order_id: OrderId


class ReserveStock(_StockCommand):
    """Hold units of a sku for an order."""

    qty: Quantity


class ReleaseStock(_StockCommand):
    """Give back the units held for an order."""


class CommitStock(_StockCommand):
    """Take the units held for an order out of stock: they are being shipped."""


# --- topic "inventory-results", key order_id ------------------------------------------------


class _StockResult(_KeyedByOrder):
    """The inventory's answer about one sku of an order."""

    topic: ClassVar[TopicRole] = TopicRole.INVENTORY_RESULTS

    sku: Sku
    qty: Quantity


class StockReserved(_StockResult):
    """Units of a sku are now held for the order."""


class StockReservationRejected(_StockResult):
    """Not enough units of a sku were available for the order."""

    available: Annotated[int, Field(strict=True, ge=0)]


class StockReleased(_StockResult):
    """Units held for the order went back to available stock."""


# --- topic "order-events", key order_id -----------------------------------------------------

RejectionReason = Literal["out_of_stock", "payment_declined", "payment_mismatch"]


class OrderConfirmed(_KeyedByOrder):
    """The order is paid and its stock held: it will be shipped."""

    topic: ClassVar[TopicRole] = TopicRole.ORDER_EVENTS

    customer_id: CustomerId
    total: Money
    currency: Currency


class OrderRejected(_KeyedByOrder):
    """The order cannot be fulfilled."""

    topic: ClassVar[TopicRole] = TopicRole.ORDER_EVENTS

    customer_id: CustomerId
    reason: RejectionReason


class OrderCancelled(_KeyedByOrder):
    """The order was cancelled at the customer's request."""

    topic: ClassVar[TopicRole] = TopicRole.ORDER_EVENTS

    customer_id: CustomerId
    reason: FreeText


class RefundRequested(_KeyedByOrder):
    """An authorized payment must be given back to the customer."""

    topic: ClassVar[TopicRole] = TopicRole.ORDER_EVENTS

    customer_id: CustomerId
    payment_id: PaymentId
    amount: Money
    currency: Currency


# --- topic "shipments", key order_id --------------------------------------------------------


class ShipmentRequested(_KeyedByOrder):
    """The warehouse should pick, pack and ship the order."""

    topic: ClassVar[TopicRole] = TopicRole.SHIPMENTS

    customer_id: CustomerId
    lines: OrderLines
    address: FreeText


# --- topic "notifications", key customer_id -------------------------------------------------


class NotificationRequested(Payload):
    """Tell the customer about their order."""

    topic: ClassVar[TopicRole] = TopicRole.NOTIFICATIONS

    customer_id: CustomerId
    order_id: OrderId
    channel: Literal["email"]
    template: TemplateName

    @property
    def key(self) -> str:
        """Partition by customer id."""
        return self.customer_id


# --- topic "analytics", key metric ----------------------------------------------------------


class MetricRecorded(Payload):
    """An amount added to one metric's tumbling window (revenue per currency, order counts)."""

    topic: ClassVar[TopicRole] = TopicRole.ANALYTICS

    metric: Annotated[
        str, Field(strict=True, min_length=1, max_length=64, pattern=r"^[a-z0-9_.A-Z-]+$")
    ]
    window_start: UtcDatetime
    window_seconds: Annotated[int, Field(strict=True, ge=1, le=86_400)]
    amount: Money

    @property
    def key(self) -> str:
        """Partition by metric name."""
        return self.metric


OrderInput = (
    OrderPlaced
    | OrderCancellationRequested
    | PaymentAuthorized
    | PaymentDeclined
    | StockReserved
    | StockReservationRejected
    | StockReleased
)
StockInput = StockReceived | StockAdjusted
StockCommand = ReserveStock | ReleaseStock | CommitStock
StockResult = StockReserved | StockReservationRejected | StockReleased
OrderOutcome = OrderConfirmed | OrderRejected | OrderCancelled | RefundRequested

AnyPayload = (
    OrderInput
    | StockInput
    | StockCommand
    | OrderOutcome
    | ShipmentRequested
    | NotificationRequested
    | MetricRecorded
)

PAYLOAD_TYPES: dict[str, type[Payload]] = {
    cls.event_type: cls
    for cls in (
        OrderPlaced,
        OrderCancellationRequested,
        PaymentAuthorized,
        PaymentDeclined,
        StockReceived,
        StockAdjusted,
        ReserveStock,
        ReleaseStock,
        CommitStock,
        StockReserved,
        StockReservationRejected,
        StockReleased,
        OrderConfirmed,
        OrderRejected,
        OrderCancelled,
        RefundRequested,
        ShipmentRequested,
        NotificationRequested,
        MetricRecorded,
    )
}
