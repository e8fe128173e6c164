"""Unit tests: the benchmark traces each order decision back to the input that caused it."""

import orjson

from bench.latency import percentile, trace
from bench.tailing import Arrival

SOURCES = {"orders", "payments"}


def _arrival(topic: str, event: dict, sent: float, received: float | None = None) -> Arrival:
    return Arrival(topic, b"k", orjson.dumps(event), sent, received or sent)


def test_decision_caused_by_a_stock_result_is_traced_back_to_the_order_placed() -> None:
    placed = {"event_id": "p", "event_type": "OrderPlaced"}
    reserve = {"event_id": "r", "event_type": "ReserveStock", "causation_id": "p"}
    reserved = {"event_id": "s", "event_type": "StockReserved", "causation_id": "r"}
    confirmed = {"event_id": "c", "event_type": "OrderConfirmed", "causation_id": "s"}
    arrivals = [
        _arrival("orders", placed, 10.0),
        _arrival("inventory-commands", reserve, 10.1),
        _arrival("inventory-results", reserved, 10.2),
        _arrival("order-events", confirmed, 10.3, received=10.8),
    ]

    latencies = trace(arrivals, SOURCES, "order-events")

    assert [round(v, 3) for v in latencies.record] == [0.3]
    assert [round(v, 3) for v in latencies.visible] == [0.8]
    assert latencies.untraced == 0


def test_a_duplicate_input_keeps_the_time_of_its_first_send() -> None:
    paid = {"event_id": "a", "event_type": "PaymentAuthorized"}
    confirmed = {"event_id": "c", "event_type": "OrderConfirmed", "causation_id": "a"}
    arrivals = [
        _arrival("payments", paid, 5.0),
        _arrival("payments", paid, 6.0),
        _arrival("order-events", confirmed, 6.5),
    ]

    assert trace(arrivals, SOURCES, "order-events").record == [1.5]


def test_decisions_whose_cause_was_not_seen_are_counted_not_guessed() -> None:
    confirmed = {"event_id": "c", "event_type": "OrderConfirmed", "causation_id": "gone"}
    refund = {"event_id": "f", "event_type": "RefundRequested", "causation_id": "gone"}
    arrivals = [
        _arrival("order-events", confirmed, 1.0),
        _arrival("order-events", refund, 1.0),
        Arrival("orders", b"k", b"{not json", 0.5, 0.5),
    ]

    latencies = trace(arrivals, SOURCES, "order-events")

    assert latencies.record == []
    assert latencies.untraced == 1


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([], 50) is None
