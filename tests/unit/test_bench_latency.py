"""Unit tests: the benchmark times each input's first hop and each order's whole saga."""

from datetime import UTC, datetime
from uuid import UUID

import orjson

from bench.latency import percentile, trace
from bench.tailing import Arrival
from models.envelope import Envelope, derive, encode_event
from models.events import (
    OrderCancellationRequested,
    OrderCancelled,
    OrderConfirmed,
    OrderLine,
    OrderPlaced,
    OrderRejected,
    Payload,
    PaymentAuthorized,
    ReserveStock,
    ShipmentRequested,
    StockReceived,
    StockReservationRejected,
    StockReserved,
)

SOURCES = {"orders", "payments", "inventory"}
AT = datetime(2026, 1, 1, tzinfo=UTC)
PLACED = OrderPlaced(
    order_id="o-1",
    customer_id="c-1",
    lines=(OrderLine(sku="SKU-1", qty=1, unit_price="9.99"),),
    currency="EUR",
    total="9.99",
    shipping_address="4 Dock Road, Cobh",
)
PAID = PaymentAuthorized(order_id="o-1", payment_id="pay-1", amount="9.99", currency="EUR")
RESERVE = ReserveStock(order_id="o-1", sku="SKU-1", qty=1)
CONFIRMED = OrderConfirmed(order_id="o-1", customer_id="c-1", total="9.99", currency="EUR")


def _source(payload: Payload, number: int) -> Envelope:
    """A source event with a fixed id."""
    return Envelope.of(payload, event_id=UUID(int=number), source="web", occurred_at=AT)


def _arrival(topic: str, event: Envelope, sent: float, received: float | None = None) -> Arrival:
    """``event`` sent at ``sent`` and seen by the committed tail at ``received``."""
    value = encode_event(event)
    return Arrival(topic, event.data.key.encode(), value, sent, received or sent)


def test_full_saga_is_traced_back_through_the_stock_round_trip_to_the_order_placed() -> None:
    paid, placed = _source(PAID, 1), _source(PLACED, 2)
    reserve = derive(placed, RESERVE)
    reserved = derive(reserve, StockReserved(order_id="o-1", sku="SKU-1", qty=1))
    confirmed = derive(reserved, CONFIRMED)
    arrivals = [
        _arrival("payments", paid, 9.9),  # paid before ordering: the order is the last input
        _arrival("orders", placed, 10.0),
        _arrival("inventory-commands", reserve, 10.1),
        _arrival("inventory-results", reserved, 10.2),
        _arrival("order-events", confirmed, 10.3, received=10.8),
    ]

    latencies = trace(arrivals, SOURCES, "order-events")

    assert [round(v, 3) for v in latencies.record] == [0.3]
    assert [round(v, 3) for v in latencies.visible] == [0.8]
    assert latencies.untraced == 0


def test_full_saga_starts_at_a_payment_sent_after_the_order_though_stock_caused_the_decision() -> (
    None
):
    placed, paid = _source(PLACED, 1), _source(PAID, 2)
    reserve = derive(placed, RESERVE)
    reserved = derive(reserve, StockReserved(order_id="o-1", sku="SKU-1", qty=1))
    confirmed = derive(reserved, CONFIRMED)  # the payment was applied first, then the stock
    arrivals = [
        _arrival("orders", placed, 10.0),
        _arrival("inventory-commands", reserve, 10.1),
        _arrival("payments", paid, 10.5),
        _arrival("inventory-results", reserved, 10.6),
        _arrival("order-events", confirmed, 10.7, received=11.0),
    ]

    latencies = trace(arrivals, SOURCES, "order-events")

    assert [round(v, 3) for v in latencies.record] == [0.2]
    assert [round(v, 3) for v in latencies.visible] == [0.5]


def test_a_rejection_for_stock_does_not_wait_for_a_payment_it_did_not_need() -> None:
    placed, paid = _source(PLACED, 1), _source(PAID, 2)
    reserve = derive(placed, RESERVE)
    refused = derive(
        reserve, StockReservationRejected(order_id="o-1", sku="SKU-1", qty=1, available=0)
    )
    rejected = derive(
        refused, OrderRejected(order_id="o-1", customer_id="c-1", reason="out_of_stock")
    )
    arrivals = [
        _arrival("orders", placed, 10.0),
        _arrival("inventory-commands", reserve, 10.1),
        _arrival("payments", paid, 10.15),
        _arrival("inventory-results", refused, 10.2),
        _arrival("order-events", rejected, 10.3),
    ]

    assert [round(v, 3) for v in trace(arrivals, SOURCES, "order-events").record] == [0.3]


def test_a_cancellation_is_timed_from_the_request() -> None:
    placed = _source(PLACED, 1)
    request = _source(OrderCancellationRequested(order_id="o-1", reason="changed my mind"), 2)
    cancelled = derive(
        request, OrderCancelled(order_id="o-1", customer_id="c-1", reason="changed my mind")
    )
    arrivals = [
        _arrival("orders", placed, 10.0),
        _arrival("orders", request, 10.2),
        _arrival("order-events", cancelled, 10.3, received=10.6),
    ]

    assert [round(v, 3) for v in trace(arrivals, SOURCES, "order-events").visible] == [0.4]


def test_a_duplicate_input_keeps_the_time_of_its_first_send() -> None:
    placed, paid = _source(PLACED, 1), _source(PAID, 2)
    confirmed = derive(paid, CONFIRMED)
    arrivals = [
        _arrival("orders", placed, 4.0),
        _arrival("payments", paid, 5.0),
        _arrival("payments", paid, 6.0),
        _arrival("order-events", confirmed, 6.5),
    ]

    latencies = trace(arrivals, SOURCES, "order-events")

    assert latencies.record == [1.5]
    assert latencies.without_output == 1  # the order placed: its stock command was not seen


def test_decisions_whose_cause_was_not_seen_are_counted_not_guessed() -> None:
    unseen = _source(PAID, 9)
    confirmed = derive(unseen, CONFIRMED)
    arrivals = [
        _arrival("order-events", confirmed, 1.0),
        Arrival("orders", b"o-1", b"{not json", 0.5, 0.5),
    ]

    latencies = trace(arrivals, SOURCES, "order-events")

    assert latencies.record == []
    assert latencies.untraced == 1


def test_one_hop_runs_from_an_input_to_the_first_derived_record_it_caused_seen_committed() -> None:
    placed, paid = _source(PLACED, 1), _source(PAID, 2)
    reserve = derive(placed, RESERVE)
    confirmed = derive(paid, CONFIRMED, seq=0)
    shipment = derive(
        paid,
        ShipmentRequested(
            order_id="o-1", customer_id="c-1", lines=PLACED.lines, address=PLACED.shipping_address
        ),
        seq=1,
    )
    arrivals = [
        _arrival("orders", placed, 10.0),
        _arrival("inventory-commands", reserve, 10.05, received=10.4),
        _arrival("payments", paid, 11.0),
        _arrival("shipments", shipment, 11.1, received=11.3),  # same commit, seen first
        _arrival("order-events", confirmed, 11.1, received=11.35),
    ]

    latencies = trace(arrivals, SOURCES, "order-events")

    assert [round(v, 3) for v in latencies.one_hop] == [0.4, 0.3]
    assert latencies.without_output == 0


def test_inputs_that_cause_nothing_by_themselves_have_no_one_hop_and_are_counted() -> None:
    delivery = Envelope.of(
        StockReceived(sku="SKU-1", qty=5), event_id=UUID(int=1), source="warehouse", occurred_at=AT
    )
    paid = _source(PAID, 2)  # waits for the order's stock: nothing derived yet
    arrivals = [_arrival("inventory", delivery, 1.0), _arrival("payments", paid, 2.0)]

    latencies = trace(arrivals, SOURCES, "order-events")

    assert latencies.one_hop == []
    assert latencies.without_output == 2
    assert latencies.summary()["one_hop_p99_ms"] is None


def test_a_malformed_copy_of_a_payment_is_neither_an_input_nor_the_start_of_a_saga() -> None:
    placed, paid = _source(PLACED, 1), _source(PAID, 2)
    spoiled = orjson.loads(encode_event(_source(PAID, 3)))
    spoiled["data"]["amount"] = 9.99  # money as a float: dead-lettered by every agent
    reserve = derive(placed, RESERVE)
    reserved = derive(reserve, StockReserved(order_id="o-1", sku="SKU-1", qty=1))
    confirmed = derive(reserved, CONFIRMED)
    arrivals = [
        _arrival("orders", placed, 10.0),
        Arrival("payments", b"o-1", orjson.dumps(spoiled), 10.05, 10.05),
        _arrival("inventory-commands", reserve, 10.1),
        _arrival("payments", paid, 10.5),
        _arrival("inventory-results", reserved, 10.6),
        _arrival("order-events", confirmed, 10.7),
    ]

    latencies = trace(arrivals, SOURCES, "order-events")

    assert [round(v, 3) for v in latencies.record] == [0.2]
    assert len(latencies.one_hop) + latencies.without_output == 2  # the two real inputs


def test_summary_reports_one_hop_and_its_split_at_the_derived_send_beside_the_full_saga() -> None:
    placed = _source(PLACED, 1)
    reserve = derive(placed, RESERVE)
    arrivals = [
        _arrival("orders", placed, 10.0),
        _arrival("inventory-commands", reserve, 10.1, received=10.25),
    ]

    summary = trace(arrivals, SOURCES, "order-events").summary()

    assert summary["one_hop_p50_ms"] == summary["one_hop_p99_ms"] == 250.0
    assert summary["one_hop_sent_p99_ms"] == 100.0  # fetched and processed
    assert summary["one_hop_committed_p99_ms"] == 150.0  # committed and fetched read_committed
    assert summary["one_hop_samples"] == 1
    assert summary["samples"] == 0
    assert summary["visible_p50_ms"] is None


def test_the_slowest_one_hops_are_listed_in_the_order_their_inputs_were_sent() -> None:
    placed, paid = _source(PLACED, 1), _source(PAID, 2)
    arrivals = [
        _arrival("orders", placed, 10.0),
        _arrival("inventory-commands", derive(placed, RESERVE), 10.05, received=10.4),
        _arrival("payments", paid, 12.0),
        _arrival("order-events", derive(paid, CONFIRMED), 12.3, received=12.35),
    ]

    latencies = trace(arrivals, SOURCES, "order-events")

    assert latencies.slowest_one_hops(least=1) == [
        {"at_s": 0.0, "ms": 400.0, "sent_ms": 50.0, "seen_ms": 350.0}
    ]
    assert [hop["at_s"] for hop in latencies.slowest_one_hops(least=2)] == [0.0, 2.0]


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([], 50) is None
