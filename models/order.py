"""The order saga: one order's state and the pure decider that moves it along."""

from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

from models.base import Record
from models.envelope import Envelope, derive
from models.events import (
    AnyPayload,
    CommitStock,
    OrderCancellationRequested,
    OrderCancelled,
    OrderConfirmed,
    OrderInput,
    OrderPlaced,
    OrderRejected,
    PaymentAuthorized,
    PaymentDeclined,
    RefundRequested,
    RejectionReason,
    ReleaseStock,
    ReserveStock,
    ShipmentRequested,
    StockReleased,
    StockReservationRejected,
    StockReserved,
)
from models.fields import OrderId, PaymentId, Sku
from models.money import amount_text
from models.refusal import Refused
from models.topics import TopicRole

OrderStatus = Literal["awaiting_order", "pending", "confirmed", "rejected", "cancelled"]
LineStatus = Literal["awaiting", "reserved", "rejected", "releasing", "released", "committed"]

_ENDED: frozenset[str] = frozenset({"rejected", "cancelled"})
_HOLDS_STOCK: frozenset[str] = frozenset({"reserved", "releasing", "released", "committed"})

#: The topics of the shop's own events about an order, which can arrive twice.
SHOP_INPUTS: tuple[TopicRole, ...] = (TopicRole.ORDERS, TopicRole.PAYMENTS)

KEPT_INPUT_IDS = 16
"""Ids of the shop's events an order keeps to recognise their repeats, in id order.

In id order, not arrival order, so that a replay which interleaves the orders and
payments topics differently rebuilds the same state. An order hears of a handful
(placed, paid or declined, perhaps a cancellation); past this many the lowest ids go,
and a repeat of one is still harmless: placing, paying (by payment id), declining and
cancelling an order twice change nothing.
"""


class LineProgress(Record):
    """Where the stock of one order line stands: requested, held, refused, given back or taken."""

    sku: Sku
    status: LineStatus


class OrderState(Record):
    """Everything the saga knows about one order."""

    order_id: OrderId
    status: OrderStatus = "awaiting_order"
    order: OrderPlaced | None = None
    lines: tuple[LineProgress, ...] = ()
    payments: tuple[PaymentAuthorized, ...] = ()
    declined: PaymentDeclined | None = None
    refunded_payment_ids: tuple[PaymentId, ...] = ()
    reason: str | None = None
    applied_inputs: tuple[UUID, ...] = ()
    """Ids of the shop's events applied to the order (``KEPT_INPUT_IDS`` at most, in id order)."""

    def has_applied(self, event_id: UUID) -> bool:
        """Whether the shop's event with this id was applied to the order already."""
        return event_id in self.applied_inputs

    @property
    def payment(self) -> PaymentAuthorized | None:
        """The authorized payment the order is paid with; later ones are extras to refund."""
        return self.payments[0] if self.payments else None

    @property
    def refund_requested(self) -> bool:
        """Whether any payment of this order was sent back to the customer."""
        return bool(self.refunded_payment_ids)

    def line_status(self, sku: str) -> LineStatus | None:
        """The stock status of the line for ``sku``, or None if no stock was requested for it."""
        return next((line.status for line in self.lines if line.sku == sku), None)

    def view(self) -> dict[str, Any]:
        """A JSON-friendly summary for the shop's order page."""
        order, payment = self.order, self.payment
        return {
            "order_id": self.order_id,
            "status": self.status,
            "reason": self.reason,
            "customer_id": order.customer_id if order else None,
            "currency": order.currency if order else None,
            "total": amount_text(order.total) if order else None,
            "lines": [
                {
                    "sku": line.sku,
                    "qty": line.qty,
                    "unit_price": amount_text(line.unit_price),
                    "status": self.line_status(line.sku) or "not_requested",
                }
                for line in (order.lines if order else ())
            ],
            "payment": {
                "payment_id": payment.payment_id,
                "amount": amount_text(payment.amount),
                "currency": payment.currency,
            }
            if payment
            else None,
            "payment_declined": self.declined.reason if self.declined else None,
            "refunded_payment_ids": list(self.refunded_payment_ids),
        }


@dataclass
class _Step:
    """The state being built while one event is applied, and the payloads it produced."""

    state: OrderState
    produced: list[AnyPayload] = field(default_factory=list)

    def update(self, **changes: Any) -> None:
        """Replace fields of the state."""
        self.state = self.state.model_copy(update=changes)

    def emit(self, payload: AnyPayload) -> None:
        """Queue a payload to be published as a derived event."""
        self.produced.append(payload)

    def set_line(self, sku: str, status: LineStatus) -> None:
        """Change the stock status of one line."""
        self.update(
            lines=tuple(
                LineProgress(sku=line.sku, status=status) if line.sku == sku else line
                for line in self.state.lines
            )
        )


def apply(state: OrderState | None, event: Envelope) -> tuple[OrderState, list[Envelope]]:
    """Apply one event to an order and return the new state and the events it causes."""
    data = event.data
    if not isinstance(data, OrderInput):
        raise Refused(f"an order does not handle {event.event_type}")
    if state is None:
        state = OrderState(order_id=data.order_id)
    elif data.order_id != state.order_id:
        raise Refused(f"{event.event_type} of order {data.order_id} sent to {state.order_id}")
    step = _Step(state)
    match data:
        case OrderPlaced():
            _order_placed(step, data)
        case OrderCancellationRequested():
            _cancellation_requested(step, data)
        case PaymentAuthorized():
            _payment_authorized(step, data)
        case PaymentDeclined():
            _payment_declined(step, data)
        case StockReserved():
            _stock_reserved(step, data)
        case StockReservationRejected():
            _stock_rejected(step, data)
        case StockReleased():
            _stock_released(step, data)
    _settle(step)
    if data.topic in SHOP_INPUTS:
        kept = tuple(sorted({*step.state.applied_inputs, event.event_id}))[-KEPT_INPUT_IDS:]
        step.update(applied_inputs=kept)
    derived = [derive(event, payload, seq=seq) for seq, payload in enumerate(step.produced)]
    return step.state, derived


def _pays_for(payment: PaymentAuthorized, order: OrderPlaced) -> bool:
    """Whether a payment covers exactly the order's total in the order's currency."""
    return payment.amount == order.total and payment.currency == order.currency


def _order_placed(step: _Step, placed: OrderPlaced) -> None:
    """Take in the order; reserve its stock unless the payment already rules it out."""
    state = step.state
    if state.order is not None:
        if state.order == placed:
            return
        raise Refused(f"order {state.order_id} was already placed with different content")
    step.update(order=placed)
    if state.status == "cancelled" and state.reason is not None:
        step.emit(_cancelled(placed, state.reason))
        return
    step.update(status="pending")
    payment_rules_out = state.declined is not None or (
        state.payment is not None and not _pays_for(state.payment, placed)
    )
    if payment_rules_out:
        return
    step.update(lines=tuple(LineProgress(sku=line.sku, status="awaiting") for line in placed.lines))
    for line in placed.lines:
        step.emit(ReserveStock(order_id=placed.order_id, sku=line.sku, qty=line.qty))


def _cancelled(order: OrderPlaced, reason: str) -> OrderCancelled:
    """The announcement that a placed order was cancelled."""
    return OrderCancelled(order_id=order.order_id, customer_id=order.customer_id, reason=reason)


def _cancellation_requested(step: _Step, request: OrderCancellationRequested) -> None:
    """Cancel an order that has not been confirmed yet."""
    status = step.state.status
    if status == "confirmed":
        raise Refused("cannot cancel: shipment already requested")
    if status in _ENDED:
        return
    step.update(status="cancelled", reason=request.reason)
    if step.state.order is not None:
        step.emit(_cancelled(step.state.order, request.reason))


def _payment_authorized(step: _Step, payment: PaymentAuthorized) -> None:
    """Keep an authorized payment; settling decides whether it confirms or is refunded."""
    known = {held.payment_id for held in step.state.payments}
    if payment.payment_id not in known:
        step.update(payments=(*step.state.payments, payment))


def _payment_declined(step: _Step, declined: PaymentDeclined) -> None:
    """Keep a decline while the order is still open; later declines change nothing."""
    if step.state.status in ("awaiting_order", "pending") and step.state.declined is None:
        step.update(declined=declined)


def _requested_line(step: _Step, sku: str, qty: int) -> LineStatus:
    """The status of a line stock was requested for, refusing results for anything else."""
    state = step.state
    status = state.line_status(sku)
    if state.order is None or status is None:
        raise Refused(f"no stock was requested for sku {sku} of order {state.order_id}")
    ordered = next(line.qty for line in state.order.lines if line.sku == sku)
    if qty != ordered:
        raise Refused(f"order {state.order_id} asked for {ordered} of sku {sku}, not {qty}")
    return status


def _stock_reserved(step: _Step, reserved: StockReserved) -> None:
    """Mark a line's stock as held."""
    status = _requested_line(step, reserved.sku, reserved.qty)
    if status == "rejected":
        raise Refused(f"sku {reserved.sku} of order {step.state.order_id} was already rejected")
    if status == "awaiting":
        step.set_line(reserved.sku, "reserved")


def _stock_rejected(step: _Step, rejected: StockReservationRejected) -> None:
    """Mark a line's stock as unavailable."""
    status = _requested_line(step, rejected.sku, rejected.qty)
    if status in _HOLDS_STOCK:
        raise Refused(f"sku {rejected.sku} of order {step.state.order_id} was already reserved")
    if status == "awaiting":
        step.set_line(rejected.sku, "rejected")


def _stock_released(step: _Step, released: StockReleased) -> None:
    """Record that a line's stock went back to the shelf."""
    status = _requested_line(step, released.sku, released.qty)
    if status in ("rejected", "committed"):
        raise Refused(f"sku {released.sku} of order {step.state.order_id} was {status}")
    step.set_line(released.sku, "released")


def _settle(step: _Step) -> None:
    """Decide the order if it can be decided, then compensate whatever the outcome requires."""
    state = step.state
    order = state.order
    if state.status == "pending" and order is not None:
        if state.declined is not None:
            _reject(step, order, "payment_declined")
        elif state.payment is not None and not _pays_for(state.payment, order):
            _reject(step, order, "payment_mismatch")
        elif any(line.status == "rejected" for line in state.lines):
            _reject(step, order, "out_of_stock")
        elif (
            state.payment is not None
            and len(state.lines) == len(order.lines)
            and all(line.status == "reserved" for line in state.lines)
        ):
            _confirm(step, order)
    if step.state.status in _ENDED:
        _release_held_stock(step)
    _refund_what_is_owed(step)


def _reject(step: _Step, order: OrderPlaced, reason: RejectionReason) -> None:
    """End the order as rejected and say so."""
    step.update(status="rejected", reason=reason)
    step.emit(OrderRejected(order_id=order.order_id, customer_id=order.customer_id, reason=reason))


def _confirm(step: _Step, order: OrderPlaced) -> None:
    """Confirm the order, ask for it to be shipped and take its stock."""
    step.update(status="confirmed")
    step.emit(
        OrderConfirmed(
            order_id=order.order_id,
            customer_id=order.customer_id,
            total=order.total,
            currency=order.currency,
        )
    )
    step.emit(
        ShipmentRequested(
            order_id=order.order_id,
            customer_id=order.customer_id,
            lines=order.lines,
            address=order.shipping_address,
        )
    )
    for line in order.lines:
        step.emit(CommitStock(order_id=order.order_id, sku=line.sku))
        step.set_line(line.sku, "committed")


def _release_held_stock(step: _Step) -> None:
    """Give back the stock of every line still held for an order that ended unfulfilled."""
    for line in step.state.lines:
        if line.status == "reserved":
            step.emit(ReleaseStock(order_id=step.state.order_id, sku=line.sku))
            step.set_line(line.sku, "releasing")


def _refund_what_is_owed(step: _Step) -> None:
    """Refund, once each, extra payments and any payment of an order that ended unfulfilled."""
    state = step.state
    if state.order is None:
        return  # the customer to refund is not known yet
    refunded = set(state.refunded_payment_ids)
    for position, payment in enumerate(state.payments):
        owed = state.status in _ENDED or position > 0
        if owed and payment.payment_id not in refunded:
            step.emit(
                RefundRequested(
                    order_id=state.order_id,
                    customer_id=state.order.customer_id,
                    payment_id=payment.payment_id,
                    amount=payment.amount,
                    currency=payment.currency,
                )
            )
            refunded.add(payment.payment_id)
            step.update(refunded_payment_ids=(*step.state.refunded_payment_ids, payment.payment_id))
