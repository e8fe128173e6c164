"""The payloads: money, quantities, currencies, ids, text, order lines and partition keys."""

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from models.currency import CURRENCIES
from models.events import (
    PAYLOAD_TYPES,
    CommitStock,
    MetricRecorded,
    NotificationRequested,
    OrderCancellationRequested,
    OrderCancelled,
    OrderConfirmed,
    OrderLine,
    OrderPlaced,
    OrderRejected,
    PaymentAuthorized,
    PaymentDeclined,
    RefundRequested,
    ReleaseStock,
    ReserveStock,
    ShipmentRequested,
    StockAdjusted,
    StockReceived,
    StockReleased,
    StockReservationRejected,
    StockReserved,
)


def order(**changes: Any) -> dict[str, Any]:
    """The JSON form of a valid one-line order, with some fields replaced."""
    document: dict[str, Any] = {
        "order_id": "o-1",
        "customer_id": "c-1",
        "lines": [{"sku": "MUG-RED", "qty": 3, "unit_price": "2.50"}],
        "currency": "EUR",
        "total": "7.50",
        "shipping_address": "1 Harbour Road, Cork",
    }
    document.update(changes)
    return document


def payment(amount: object) -> dict[str, Any]:
    """The JSON form of an authorized payment of ``amount``."""
    return {"order_id": "o-1", "payment_id": "p-1", "amount": amount, "currency": "EUR"}


def failing_paths(cls: type, document: dict[str, Any]) -> set[str]:
    """Validate a document that must fail and return the dotted paths that failed."""
    with pytest.raises(ValidationError) as failure:
        cls.model_validate(document)
    return {".".join(map(str, error["loc"])) for error in failure.value.errors()}


@pytest.mark.parametrize(
    ("wire", "amount"),
    [("19.99", "19.99"), ("19.9", "19.90"), ("20", "20.00"), (20, "20.00"), ("0", "0.00")],
)
def test_money_is_read_from_strings_and_ints_as_exact_cents(wire: object, amount: str) -> None:
    assert PaymentAuthorized.model_validate(payment(wire)).amount == Decimal(amount)
    assert str(PaymentAuthorized.model_validate(payment(wire)).amount) == amount


def test_money_is_written_as_a_json_string() -> None:
    written = PaymentAuthorized.model_validate(payment("19.9")).__json__()
    assert written["amount"] == "19.90"


@pytest.mark.parametrize("wire", [19.99, 20.0, True])
def test_float_money_is_rejected(wire: object) -> None:
    assert failing_paths(PaymentAuthorized, payment(wire)) == {"amount"}


@pytest.mark.parametrize(
    "wire",
    ["19.999", "-1", -1, "1e3", " 5", "5 ", "NaN", "Infinity", "1_000", "", "1000000000.01"],
)
def test_money_that_is_negative_too_precise_or_oddly_written_is_rejected(wire: object) -> None:
    assert failing_paths(PaymentAuthorized, payment(wire)) == {"amount"}


def test_money_up_to_one_billion_is_accepted() -> None:
    assert PaymentAuthorized.model_validate(payment("1000000000.00")).amount == Decimal(10**9)
    assert failing_paths(PaymentAuthorized, payment(10**9 + 1)) == {"amount"}


def test_money_from_python_decimals_is_checked_too() -> None:
    assert PaymentAuthorized.model_validate(payment(Decimal("3.1"))).amount == Decimal("3.10")
    assert failing_paths(PaymentAuthorized, payment(Decimal("3.141"))) == {"amount"}
    assert failing_paths(PaymentAuthorized, payment(Decimal("sNaN"))) == {"amount"}


def test_total_mismatch_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"does not equal the sum of the lines 7\.50"):
        OrderPlaced.model_validate(order(total="7.49"))


def test_total_equal_to_sum_of_lines_is_accepted() -> None:
    lines = [
        {"sku": "A", "qty": 3, "unit_price": "0.10"},
        {"sku": "B", "qty": 7, "unit_price": "1.01"},
    ]
    assert OrderPlaced.model_validate(order(lines=lines, total="7.37")).total == Decimal("7.37")


def test_duplicate_skus_in_one_order_are_rejected() -> None:
    line = {"sku": "MUG-RED", "qty": 1, "unit_price": "2.50"}
    with pytest.raises(ValidationError, match="repeated: MUG-RED"):
        OrderPlaced.model_validate(order(lines=[line, line], total="5.00"))


@pytest.mark.parametrize("count", [0, 51])
def test_an_order_has_one_to_fifty_lines(count: int) -> None:
    lines = [{"sku": f"S{i}", "qty": 1, "unit_price": "1"} for i in range(count)]
    assert failing_paths(OrderPlaced, order(lines=lines, total=str(count))) == {"lines"}


def test_fifty_lines_are_accepted() -> None:
    lines = [{"sku": f"S{i}", "qty": 1, "unit_price": "1"} for i in range(50)]
    assert len(OrderPlaced.model_validate(order(lines=lines, total="50")).lines) == 50


@pytest.mark.parametrize("qty", [0, -1, 10_001, "3", 3.0, True])
def test_line_quantity_is_a_positive_int_up_to_ten_thousand(qty: object) -> None:
    line = {"sku": "MUG-RED", "qty": qty, "unit_price": "1"}
    assert failing_paths(OrderLine, line) == {"qty"}


def test_received_stock_may_be_up_to_a_million_units() -> None:
    assert StockReceived(sku="MUG-RED", qty=1_000_000).qty == 1_000_000
    assert failing_paths(StockReceived, {"sku": "MUG-RED", "qty": 1_000_001}) == {"qty"}


@pytest.mark.parametrize("delta", [0, 1_000_001, -1_000_001])
def test_adjustment_is_non_zero_and_at_most_a_million(delta: int) -> None:
    document = {"sku": "MUG-RED", "delta": delta, "reason": "stock-take"}
    assert failing_paths(StockAdjusted, document) == {"delta"}


@pytest.mark.parametrize("currency", ["eur", "EURO", "XYZ", "XAU", "HRK", "", 978])
def test_currency_must_be_a_circulating_iso_code(currency: object) -> None:
    assert failing_paths(OrderPlaced, order(currency=currency)) == {"currency"}


def test_currency_list_holds_the_main_circulating_codes() -> None:
    assert {"EUR", "USD", "GBP", "JPY", "CHF", "XCG", "ZWG"} <= CURRENCIES
    assert 140 <= len(CURRENCIES) <= 170
    assert all(len(code) == 3 and code.isupper() for code in CURRENCIES)


@pytest.mark.parametrize("order_id", ["", "x" * 65, "o 1", "o/1", "ü", 17])
def test_ids_are_1_to_64_safe_characters(order_id: object) -> None:
    assert failing_paths(OrderPlaced, order(order_id=order_id)) == {"order_id"}


def test_ids_may_use_dots_colons_dashes_and_underscores() -> None:
    assert OrderPlaced.model_validate(order(order_id="shop:eu.o-1_2")).order_id == "shop:eu.o-1_2"


@pytest.mark.parametrize("address", ["", "x" * 501])
def test_free_text_is_1_to_500_characters(address: str) -> None:
    assert failing_paths(OrderPlaced, order(shipping_address=address)) == {"shipping_address"}


def test_unknown_payload_field_is_rejected() -> None:
    assert failing_paths(OrderPlaced, order(coupon="FREE")) == {"coupon"}


def test_rejection_reason_is_one_of_three() -> None:
    document = {"order_id": "o-1", "customer_id": "c-1", "reason": "bored"}
    assert failing_paths(OrderRejected, document) == {"reason"}


def test_notification_goes_by_email_with_a_template_name() -> None:
    document = {"customer_id": "c-1", "order_id": "o-1", "channel": "sms", "template": "Hi!"}
    assert failing_paths(NotificationRequested, document) == {"channel", "template"}


def test_payloads_are_immutable() -> None:
    stock = StockReceived(sku="MUG-RED", qty=5)
    with pytest.raises(ValidationError):
        stock.qty = 6  # type: ignore[misc]


def test_each_payload_is_keyed_by_what_it_is_partitioned_on() -> None:
    placed = OrderPlaced.model_validate(order())
    line = placed.lines[0]
    expected = [
        (placed, "o-1"),
        (OrderCancellationRequested(order_id="o-1", reason="changed my mind"), "o-1"),
        (PaymentAuthorized.model_validate(payment("7.50")), "o-1"),
        (PaymentDeclined(order_id="o-1", payment_id="p-1", reason="insufficient funds"), "o-1"),
        (StockReceived(sku="MUG-RED", qty=5), "MUG-RED"),
        (StockAdjusted(sku="MUG-RED", delta=-1, reason="broken"), "MUG-RED"),
        (ReserveStock(order_id="o-1", sku="MUG-RED", qty=3), "MUG-RED"),
        (ReleaseStock(order_id="o-1", sku="MUG-RED"), "MUG-RED"),
        (CommitStock(order_id="o-1", sku="MUG-RED"), "MUG-RED"),
        (StockReserved(order_id="o-1", sku="MUG-RED", qty=3), "o-1"),
        (StockReservationRejected(order_id="o-1", sku="MUG-RED", qty=3, available=1), "o-1"),
        (StockReleased(order_id="o-1", sku="MUG-RED", qty=3), "o-1"),
        (OrderConfirmed(order_id="o-1", customer_id="c-1", total="7.50", currency="EUR"), "o-1"),
        (OrderRejected(order_id="o-1", customer_id="c-1", reason="out_of_stock"), "o-1"),
        (OrderCancelled(order_id="o-1", customer_id="c-1", reason="changed my mind"), "o-1"),
        (
            RefundRequested(
                order_id="o-1", customer_id="c-1", payment_id="p-1", amount="7.50", currency="EUR"
            ),
            "o-1",
        ),
        (
            ShipmentRequested(
                order_id="o-1", customer_id="c-1", lines=(line,), address="1 Harbour Road"
            ),
            "o-1",
        ),
        (
            NotificationRequested(
                customer_id="c-1", order_id="o-1", channel="email", template="order_confirmed"
            ),
            "c-1",
        ),
        (
            MetricRecorded(
                metric="revenue.EUR",
                window_start="2026-01-01T00:00:00Z",
                window_seconds=60,
                amount="7.50",
            ),
            "revenue.EUR",
        ),
    ]
    assert [payload.key for payload, _ in expected] == [key for _, key in expected]
    assert {payload.event_type for payload, _ in expected} == set(PAYLOAD_TYPES)


def test_each_payload_names_its_topic() -> None:
    assert OrderPlaced.topic == "orders"
    assert PaymentDeclined.topic == "payments"
    assert StockAdjusted.topic == "inventory"
    assert CommitStock.topic == "inventory-commands"
    assert StockReleased.topic == "inventory-results"
    assert RefundRequested.topic == "order-events"
    assert ShipmentRequested.topic == "shipments"
    assert NotificationRequested.topic == "notifications"
