"""The order saga, one path per test: reservations, payment, confirmation and compensation."""

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import pytest

from models.envelope import Envelope, Source
from models.events import (
    CommitStock,
    OrderCancellationRequested,
    OrderCancelled,
    OrderConfirmed,
    OrderLine,
    OrderPlaced,
    OrderRejected,
    Payload,
    PaymentAuthorized,
    PaymentDeclined,
    RefundRequested,
    ReleaseStock,
    ReserveStock,
    ShipmentRequested,
    StockReceived,
    StockReleased,
    StockReservationRejected,
    StockReserved,
)
from models.order import KEPT_INPUT_IDS, OrderState, apply
from models.refusal import Refused

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MUG, TEE = "MUG-RED", "TEE-L"
QTY = {MUG: 2, TEE: 1}
SOURCES: dict[type, Source] = {
    OrderPlaced: "web",
    OrderCancellationRequested: "web",
    PaymentAuthorized: "payments-gateway",
    PaymentDeclined: "payments-gateway",
}


def placed(**changes: object) -> OrderPlaced:
    """Order o-1: two mugs at 9.99 and one tee at 20.00, in euros."""
    fields: dict[str, object] = {
        "order_id": "o-1",
        "customer_id": "c-1",
        "lines": (
            OrderLine(sku=MUG, qty=2, unit_price="9.99"),
            OrderLine(sku=TEE, qty=1, unit_price="20.00"),
        ),
        "currency": "EUR",
        "total": "39.98",
        "shipping_address": "1 Harbour Road, Cork",
    }
    fields.update(changes)
    return OrderPlaced.model_validate(fields)


def paid(payment_id: str = "p-1", amount: str = "39.98", currency: str = "EUR") -> Payload:
    """The gateway authorized a payment for o-1."""
    return PaymentAuthorized(
        order_id="o-1", payment_id=payment_id, amount=amount, currency=currency
    )


def declined(payment_id: str = "p-1") -> Payload:
    """The gateway declined a payment for o-1."""
    return PaymentDeclined(order_id="o-1", payment_id=payment_id, reason="insufficient funds")


def reserved(sku: str) -> Payload:
    """Inventory held the line's units."""
    return StockReserved(order_id="o-1", sku=sku, qty=QTY[sku])


def out_of_stock(sku: str) -> Payload:
    """Inventory could not hold the line's units."""
    return StockReservationRejected(order_id="o-1", sku=sku, qty=QTY[sku], available=0)


def released(sku: str) -> Payload:
    """Inventory gave the line's units back."""
    return StockReleased(order_id="o-1", sku=sku, qty=QTY[sku])


def cancel() -> Payload:
    """The customer asked to cancel o-1."""
    return OrderCancellationRequested(order_id="o-1", reason="changed my mind")


class Saga:
    """Feeds one order's events, numbered in arrival order, through ``apply``."""

    def __init__(self) -> None:
        self.state: OrderState | None = None
        self.received = 0

    def envelope(self, data: Payload) -> Envelope:
        """Wrap the next input event."""
        self.received += 1
        return Envelope.of(
            data,
            event_id=UUID(int=self.received),
            source=SOURCES.get(type(data), "ecommerce-streams"),
            occurred_at=AT,
            correlation_id="o-1",
        )

    def send(self, *inputs: Payload) -> list[Payload]:
        """Apply events in order and return the payloads the last one caused."""
        caused: list[Payload] = []
        for data in inputs:
            self.state, derived = apply(self.state, self.envelope(data))
            caused = [event.data for event in derived]
        return caused

    @property
    def status(self) -> str:
        """The order's status."""
        assert self.state is not None
        return self.state.status


def refund(payment_id: str = "p-1", amount: str = "39.98", currency: str = "EUR") -> Payload:
    """The refund the saga asks for a payment."""
    return RefundRequested(
        order_id="o-1", customer_id="c-1", payment_id=payment_id, amount=amount, currency=currency
    )


def rejection(reason: str) -> Payload:
    """The saga's announcement that o-1 is rejected."""
    return OrderRejected.model_validate({"order_id": "o-1", "customer_id": "c-1", "reason": reason})


def release(sku: str) -> Payload:
    """The saga's command to give a line's units back."""
    return ReleaseStock(order_id="o-1", sku=sku)


def reserve(sku: str) -> Payload:
    """The saga's command to hold a line's units."""
    return ReserveStock(order_id="o-1", sku=sku, qty=QTY[sku])


CANCELLED = OrderCancelled(order_id="o-1", customer_id="c-1", reason="changed my mind")


# --- the happy path ----------------------------------------------------------------------------


def test_order_placed_reserves_stock_for_every_line() -> None:
    saga = Saga()
    assert saga.send(placed()) == [reserve(MUG), reserve(TEE)]
    assert saga.status == "pending"


def test_reserved_and_paid_order_is_confirmed_shipped_and_its_stock_committed() -> None:
    saga = Saga()
    saga.send(placed(), paid(), reserved(MUG))
    assert saga.send(reserved(TEE)) == [
        OrderConfirmed(order_id="o-1", customer_id="c-1", total="39.98", currency="EUR"),
        ShipmentRequested(
            order_id="o-1",
            customer_id="c-1",
            lines=placed().lines,
            address="1 Harbour Road, Cork",
        ),
        CommitStock(order_id="o-1", sku=MUG),
        CommitStock(order_id="o-1", sku=TEE),
    ]
    assert saga.status == "confirmed"


def test_payment_after_every_line_is_reserved_confirms_the_order() -> None:
    saga = Saga()
    saga.send(placed(), reserved(MUG), reserved(TEE))
    assert saga.status == "pending"
    assert [type(p) for p in saga.send(paid())] == [
        OrderConfirmed,
        ShipmentRequested,
        CommitStock,
        CommitStock,
    ]


def test_order_waits_while_a_line_is_unanswered() -> None:
    saga = Saga()
    assert saga.send(placed(), paid(), reserved(MUG)) == []
    assert saga.status == "pending"


def test_payment_before_order_is_held_until_order_arrives() -> None:
    saga = Saga()
    assert saga.send(paid()) == []
    assert saga.status == "awaiting_order"
    assert saga.state is not None and saga.state.payment == paid()
    assert saga.send(placed()) == [reserve(MUG), reserve(TEE)]
    saga.send(reserved(MUG))
    assert isinstance(saga.send(reserved(TEE))[0], OrderConfirmed)
    assert saga.status == "confirmed"


# --- payment problems --------------------------------------------------------------------------


def test_declined_payment_before_order_rejects_it_on_arrival_without_reserving() -> None:
    saga = Saga()
    assert saga.send(declined()) == []
    assert saga.status == "awaiting_order"
    assert saga.send(placed()) == [rejection("payment_declined")]
    assert saga.status == "rejected"


def test_declined_payment_releases_reserved_lines() -> None:
    saga = Saga()
    saga.send(placed(), reserved(MUG))
    assert saga.send(declined()) == [rejection("payment_declined"), release(MUG)]
    assert saga.state is not None and saga.state.reason == "payment_declined"


def test_payment_amount_mismatch_rejects_releases_and_refunds() -> None:
    saga = Saga()
    saga.send(placed(), reserved(MUG), reserved(TEE))
    assert saga.send(paid(amount="39.97")) == [
        rejection("payment_mismatch"),
        release(MUG),
        release(TEE),
        refund(amount="39.97"),
    ]


def test_payment_currency_mismatch_rejects_and_refunds() -> None:
    saga = Saga()
    saga.send(placed(), reserved(MUG))
    assert saga.send(paid(currency="USD")) == [
        rejection("payment_mismatch"),
        release(MUG),
        refund(currency="USD"),
    ]


def test_mismatched_payment_held_before_order_rejects_without_reserving() -> None:
    saga = Saga()
    saga.send(paid(amount="1.00"))
    assert saga.send(placed()) == [rejection("payment_mismatch"), refund(amount="1.00")]


def test_decline_after_authorization_rejects_and_refunds() -> None:
    saga = Saga()
    saga.send(placed(), paid(), reserved(MUG))
    assert saga.send(declined("p-2")) == [
        rejection("payment_declined"),
        release(MUG),
        refund(),
    ]


# --- out of stock ------------------------------------------------------------------------------


def test_one_line_out_of_stock_releases_every_reserved_line() -> None:
    saga = Saga()
    saga.send(placed(), reserved(MUG))
    assert saga.send(out_of_stock(TEE)) == [rejection("out_of_stock"), release(MUG)]
    assert saga.status == "rejected"
    assert saga.state is not None and saga.state.line_status(MUG) == "releasing"


def test_out_of_stock_refunds_the_payment_already_taken() -> None:
    saga = Saga()
    saga.send(placed(), paid())
    assert saga.send(out_of_stock(MUG)) == [rejection("out_of_stock"), refund()]
    assert saga.state is not None and saga.state.refund_requested


def test_late_stock_reserved_after_rejection_is_released() -> None:
    saga = Saga()
    saga.send(placed(), out_of_stock(MUG))
    assert saga.send(reserved(TEE)) == [release(TEE)]
    assert saga.send(reserved(TEE)) == []
    assert saga.status == "rejected"


def test_second_out_of_stock_line_after_rejection_changes_nothing() -> None:
    saga = Saga()
    saga.send(placed(), out_of_stock(MUG))
    assert saga.send(out_of_stock(TEE)) == []
    assert saga.state is not None and saga.state.reason == "out_of_stock"


# --- cancellation ------------------------------------------------------------------------------


def test_cancellation_before_shipment_releases_and_refunds() -> None:
    saga = Saga()
    saga.send(placed(), paid(), reserved(MUG))
    assert saga.send(cancel()) == [CANCELLED, release(MUG), refund()]
    assert saga.status == "cancelled"
    assert saga.state is not None and saga.state.reason == "changed my mind"


def test_cancellation_after_confirmation_is_refused() -> None:
    saga = Saga()
    saga.send(placed(), paid(), reserved(MUG), reserved(TEE))
    with pytest.raises(Refused) as refused:
        saga.send(cancel())
    assert refused.value.reason == "cannot cancel: shipment already requested"


def test_cancellation_of_a_rejected_order_changes_nothing() -> None:
    saga = Saga()
    saga.send(placed(), out_of_stock(MUG))
    before = saga.state
    assert saga.send(cancel()) == []
    assert before is not None and saga.state is not None
    assert saga.state.model_copy(update={"applied_inputs": before.applied_inputs}) == before


def test_repeated_cancellation_changes_nothing() -> None:
    saga = Saga()
    saga.send(placed(), cancel())
    assert saga.send(cancel()) == []
    assert saga.status == "cancelled"


def test_cancellation_before_order_arrives_cancels_it_on_arrival() -> None:
    saga = Saga()
    assert saga.send(paid(), cancel()) == []
    assert saga.status == "cancelled"
    assert saga.send(placed()) == [CANCELLED, refund()]
    assert saga.status == "cancelled"


def test_late_payment_after_cancellation_is_refunded() -> None:
    saga = Saga()
    saga.send(placed(), cancel())
    assert saga.send(paid()) == [refund()]
    assert saga.send(paid()) == []


def test_late_stock_reserved_after_cancellation_is_released() -> None:
    saga = Saga()
    saga.send(placed(), cancel())
    assert saga.send(reserved(MUG)) == [release(MUG)]


# --- late and repeated events ------------------------------------------------------------------


def test_late_payment_after_rejection_is_refunded_once() -> None:
    saga = Saga()
    saga.send(placed(), out_of_stock(TEE))
    assert saga.send(paid()) == [refund()]
    assert saga.send(paid()) == []


def test_late_decline_after_confirmation_changes_nothing() -> None:
    saga = Saga()
    saga.send(placed(), paid(), reserved(MUG), reserved(TEE))
    assert saga.send(declined("p-2")) == []
    assert saga.status == "confirmed"


def test_late_decline_after_rejection_changes_nothing() -> None:
    saga = Saga()
    saga.send(placed(), out_of_stock(MUG))
    assert saga.send(declined()) == []


def test_repeated_order_placed_emits_nothing() -> None:
    saga = Saga()
    saga.send(placed())
    assert saga.send(placed()) == []
    assert saga.status == "pending"


def test_order_placed_again_with_different_content_is_refused() -> None:
    saga = Saga()
    saga.send(placed())
    with pytest.raises(Refused, match="already placed with different content"):
        saga.send(placed(shipping_address="2 Quay Street, Galway"))


def test_repeated_stock_reserved_emits_nothing() -> None:
    saga = Saga()
    saga.send(placed(), reserved(MUG))
    assert saga.send(reserved(MUG)) == []
    assert saga.state is not None and saga.state.line_status(MUG) == "reserved"


def test_repeated_stock_reserved_after_confirmation_emits_nothing() -> None:
    saga = Saga()
    saga.send(placed(), paid(), reserved(MUG), reserved(TEE))
    assert saga.send(reserved(MUG)) == []


def test_repeated_payment_emits_nothing() -> None:
    saga = Saga()
    saga.send(placed(), paid())
    assert saga.send(paid()) == []
    assert saga.state is not None and len(saga.state.payments) == 1


def test_second_payment_while_one_is_held_is_refunded() -> None:
    saga = Saga()
    saga.send(paid("p-1"), paid("p-2"))
    assert saga.send(placed()) == [reserve(MUG), reserve(TEE), refund("p-2")]


def test_second_payment_after_confirmation_is_refunded() -> None:
    saga = Saga()
    saga.send(placed(), paid("p-1"), reserved(MUG), reserved(TEE))
    assert saga.send(paid("p-2")) == [refund("p-2")]
    assert saga.status == "confirmed"


def test_stock_released_is_recorded_without_events() -> None:
    saga = Saga()
    saga.send(placed(), reserved(MUG), out_of_stock(TEE))
    assert saga.send(released(MUG)) == []
    assert saga.state is not None and saga.state.line_status(MUG) == "released"
    assert saga.send(released(MUG)) == []


# --- refusals ----------------------------------------------------------------------------------


def test_stock_result_for_a_sku_not_in_the_order_is_refused() -> None:
    saga = Saga()
    saga.send(placed())
    with pytest.raises(Refused, match="no stock was requested for sku HAT"):
        saga.send(StockReserved(order_id="o-1", sku="HAT", qty=1))
    with pytest.raises(Refused, match="no stock was requested for sku HAT"):
        saga.send(StockReservationRejected(order_id="o-1", sku="HAT", qty=1, available=0))


def test_stock_result_before_the_order_is_refused() -> None:
    with pytest.raises(Refused, match="no stock was requested"):
        Saga().send(reserved(MUG))


def test_stock_result_with_another_quantity_is_refused() -> None:
    saga = Saga()
    saga.send(placed())
    with pytest.raises(Refused, match="asked for 2 of sku MUG-RED, not 5"):
        saga.send(StockReserved(order_id="o-1", sku=MUG, qty=5))


def test_contradicting_stock_results_are_refused() -> None:
    saga = Saga()
    saga.send(placed(), out_of_stock(MUG))
    with pytest.raises(Refused, match="already rejected"):
        saga.send(reserved(MUG))
    saga.send(reserved(TEE))
    with pytest.raises(Refused, match="already reserved"):
        saga.send(out_of_stock(TEE))


def test_event_of_another_order_is_refused() -> None:
    saga = Saga()
    saga.send(placed())
    with pytest.raises(Refused, match="of order o-2 sent to o-1"):
        saga.send(placed(order_id="o-2"))


def test_event_type_the_order_does_not_handle_is_refused() -> None:
    with pytest.raises(Refused, match="does not handle StockReceived"):
        Saga().send(StockReceived(sku=MUG, qty=5))


def test_refusal_leaves_the_state_unchanged() -> None:
    saga = Saga()
    saga.send(placed(), paid(), reserved(MUG), reserved(TEE))
    before = saga.state
    with pytest.raises(Refused):
        saga.send(cancel())
    assert saga.state == before


# --- derived events, state and view ------------------------------------------------------------


def test_derived_events_are_caused_by_their_input_and_numbered_apart() -> None:
    saga = Saga()
    cause = saga.envelope(placed())
    _, derived = apply(None, cause)
    assert [event.causation_id for event in derived] == [cause.event_id] * 2
    assert len({event.event_id for event in derived}) == 2
    assert all(event.correlation_id == "o-1" for event in derived)
    assert all(event.occurred_at == cause.occurred_at for event in derived)


def test_replaying_an_event_on_the_same_state_reproduces_it_exactly() -> None:
    saga = Saga()
    saga.send(placed(), paid(), reserved(MUG))
    last = saga.envelope(reserved(TEE))
    assert apply(saga.state, last) == apply(saga.state, last)


def test_order_state_round_trips_through_its_table_codec() -> None:
    saga = Saga()
    saga.send(placed(), paid(), reserved(MUG), out_of_stock(TEE))
    state = saga.state
    assert state is not None
    assert OrderState.from_data(state.__json__()) == state
    assert OrderState.from_bytes(state.to_bytes()) == state


def test_view_summarises_status_lines_payment_and_reason() -> None:
    saga = Saga()
    saga.send(placed(), paid(), reserved(MUG), out_of_stock(TEE))
    assert saga.state is not None
    assert saga.state.view() == {
        "order_id": "o-1",
        "status": "rejected",
        "reason": "out_of_stock",
        "customer_id": "c-1",
        "currency": "EUR",
        "total": "39.98",
        "lines": [
            {"sku": MUG, "qty": 2, "unit_price": "9.99", "status": "releasing"},
            {"sku": TEE, "qty": 1, "unit_price": "20.00", "status": "rejected"},
        ],
        "payment": {"payment_id": "p-1", "amount": "39.98", "currency": "EUR"},
        "payment_declined": None,
        "refunded_payment_ids": ["p-1"],
    }


def test_view_of_an_order_not_yet_arrived_has_no_lines() -> None:
    saga = Saga()
    saga.send(paid())
    assert saga.state is not None
    view = saga.state.view()
    assert (view["status"], view["lines"], view["total"]) == ("awaiting_order", [], None)
    assert view["payment"]["amount"] == "39.98"


def test_money_in_state_stays_exact() -> None:
    saga = Saga()
    saga.send(placed())
    assert saga.state is not None and saga.state.order is not None
    assert saga.state.order.total == Decimal("39.98")


def test_an_order_keeps_the_ids_of_the_shops_events_it_applied_not_of_stock_results() -> None:
    saga = Saga()
    saga.send(placed(), reserved(MUG), paid())  # events 1, 2 and 3
    assert saga.state is not None
    assert saga.state.applied_inputs == (UUID(int=1), UUID(int=3))
    assert saga.state.has_applied(UUID(int=3)) and not saga.state.has_applied(UUID(int=2))


def test_an_order_keeps_the_same_ids_whichever_order_its_shop_events_arrived_in() -> None:
    placed_first, paid_first = Saga(), Saga()
    placed_first.send(placed(), paid())  # ids 1 and 2
    paid_first.received = 1
    paid_first.send(paid())  # id 2
    paid_first.received = 0
    paid_first.send(placed())  # id 1
    assert placed_first.state is not None and paid_first.state is not None
    assert placed_first.state.applied_inputs == paid_first.state.applied_inputs


def test_an_order_flooded_with_shop_events_keeps_only_the_highest_ids() -> None:
    saga = Saga()
    saga.send(placed(), *(paid(payment_id=f"p-{n}") for n in range(KEPT_INPUT_IDS + 4)))
    assert saga.state is not None
    newest = tuple(UUID(int=n) for n in range(6, KEPT_INPUT_IDS + 6))
    assert saga.state.applied_inputs == newest
