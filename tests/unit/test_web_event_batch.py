"""Reading a POST /events body: valid source events in, a 400 naming every bad field out."""

from typing import Any

import orjson
import pytest

from ecommerce_streams.web.event_batch import MAX_EVENTS, MAX_REPORTED_ERRORS, read_batch
from ecommerce_streams.web.problems import Problem
from models.envelope import decode_event
from models.events import OrderConfirmed
from tests.web_events import document, order_placed, payment_authorized, stock_received


def body(value: Any) -> bytes:
    return orjson.dumps(value)


def rejection(raw: bytes) -> Problem:
    with pytest.raises(Problem) as caught:
        read_batch(raw)
    assert caught.value.status == 400
    return caught.value


def test_a_single_envelope_object_is_a_batch_of_one() -> None:
    [event] = read_batch(body(order_placed("ord-1", "SKU-1")))

    assert event.topic == "orders"
    assert event.key == b"ord-1"


def test_an_array_keeps_its_order_and_routes_each_event_to_its_source_topic() -> None:
    events = read_batch(
        body([stock_received("SKU-1"), order_placed("ord-1", "SKU-1"), payment_authorized("ord-1")])
    )

    assert [(e.topic, e.key) for e in events] == [
        ("inventory", b"SKU-1"),
        ("orders", b"ord-1"),
        ("payments", b"ord-1"),
    ]


def test_accepted_bytes_decode_as_the_agents_will_decode_them() -> None:
    sent = order_placed("ord-1", "SKU-1")
    [event] = read_batch(body(sent))

    assert decode_event(event.value) == event.envelope
    assert str(event.envelope.event_id) == sent["event_id"]


def test_a_bad_field_is_reported_with_its_index_and_path() -> None:
    broken = order_placed("ord-2", "SKU-1")
    broken["data"]["lines"][0]["qty"] = 0

    problem = rejection(body([order_placed("ord-1", "SKU-1"), broken]))

    [error] = problem.errors
    assert (error.index, error.path) == (1, "data.lines.0.qty")
    assert "greater than 0" in error.message


def test_one_invalid_event_rejects_the_whole_batch_and_every_error_is_listed() -> None:
    no_id = stock_received("SKU-1")
    del no_id["event_id"]
    bad_source = stock_received("SKU-2")
    bad_source["source"] = "fax"

    problem = rejection(body([stock_received("SKU-0"), no_id, bad_source]))

    assert [(e.index, e.path) for e in problem.errors] == [(1, "event_id"), (2, "source")]
    assert "2 of 3 events are invalid" in problem.detail


def test_events_the_platform_derives_are_refused() -> None:
    confirmed = document(
        OrderConfirmed(order_id="ord-1", customer_id="c-1", total="1.00", currency="EUR"),
        "ecommerce-streams",
    )

    [error] = rejection(body(confirmed)).errors

    assert error.path == "event_type"
    assert "derived by the platform" in error.message


def test_an_unknown_event_type_is_named_in_the_error() -> None:
    unknown = stock_received("SKU-1")
    unknown["event_type"] = "StockStolen"

    [error] = rejection(body(unknown)).errors

    assert error.path == "event_type"
    assert error.message == "unknown event type 'StockStolen'"


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b"{not json", "not UTF-8 JSON"),
        (b"\xff\xfe", "not UTF-8 JSON"),
        (b"", "not UTF-8 JSON"),
        (b'"an event"', "event object or an array"),
        (b"[]", "1 to 500 events, not 0"),
    ],
)
def test_a_body_that_is_not_events_is_refused(raw: bytes, detail: str) -> None:
    problem = rejection(raw)

    assert detail in problem.detail
    assert problem.errors == ()


def test_an_array_element_that_is_not_an_object_is_named_by_index() -> None:
    [error] = rejection(body([stock_received("SKU-1"), 42])).errors

    assert (error.index, error.path) == (1, "")


def test_more_than_500_events_are_refused() -> None:
    problem = rejection(body([stock_received("SKU-1")] * (MAX_EVENTS + 1)))

    assert f"not {MAX_EVENTS + 1}" in problem.detail


def test_the_error_list_is_capped_and_says_so() -> None:
    problem = rejection(body([{}] * MAX_EVENTS))

    assert len(problem.errors) == MAX_REPORTED_ERRORS
    assert f"the first {MAX_REPORTED_ERRORS}" in problem.detail


def test_the_problem_document_carries_type_title_status_detail_and_errors() -> None:
    broken = stock_received("SKU-1")
    broken["data"]["qty"] = -1

    document_ = rejection(body(broken)).body()

    assert set(document_) == {"type", "title", "status", "detail", "errors"}
    assert document_["status"] == 400
    assert document_["errors"] == [
        {"index": 0, "path": "data.qty", "message": "Input should be greater than 0"}
    ]
