"""The load generator: deterministic, realistic traffic with the mishaps a profile asks for."""

from collections import Counter
from datetime import UTC, datetime

import orjson
import pytest

from ecommerce_streams.harness.load import SPOILERS, LoadProfile, LoadSummary, Outgoing, generate
from models.envelope import Envelope, decode_event
from models.events import OrderPlaced
from models.stages import ORDERS, judge

PROFILE = LoadProfile(orders=1_000, seed=7)


@pytest.fixture(scope="module")
def stream() -> list[Outgoing]:
    """The reference profile's whole stream, generated once."""
    return list(generate(PROFILE))


def _decoded(stream: list[Outgoing]) -> list[tuple[Outgoing, Envelope]]:
    return [(m, decode_event(m.value)) for m in stream if m.kind == "event"]


def test_same_seed_produces_identical_stream(stream: list[Outgoing]) -> None:
    assert list(generate(LoadProfile(orders=1_000, seed=7))) == stream


def test_another_seed_produces_other_orders(stream: list[Outgoing]) -> None:
    other = list(generate(LoadProfile(orders=1_000, seed=8)))
    assert {m.event_id for m in other}.isdisjoint({m.event_id for m in stream if m.event_id})


def test_changing_one_ratio_keeps_the_orders(stream: list[Outgoing]) -> None:
    calmer = LoadProfile(orders=1_000, seed=7, duplicate_ratio=0.0, malformed_ratio=0.0)
    events = [m for m in stream if m.kind == "event"]
    assert list(generate(calmer)) == events


def test_stream_starts_with_stock_for_every_sku(stream: list[Outgoing]) -> None:
    opening = [m for m in stream if m.kind == "event"][: PROFILE.skus]
    assert [m.label for m in opening] == ["StockReceived"] * PROFILE.skus
    assert len({m.key for m in opening}) == PROFILE.skus
    for message in opening:
        assert decode_event(message.value).data.qty == PROFILE.stock_per_sku()


def test_every_event_decodes_under_its_payload_key(stream: list[Outgoing]) -> None:
    for message, envelope in _decoded(stream):
        assert message.key == envelope.data.key.encode()
        assert message.event_id == str(envelope.event_id)
        assert message.label == envelope.event_type
        assert envelope.data.topic == message.topic_role


def test_orders_have_distinct_skus_small_quantities_and_shop_prices(stream: list[Outgoing]) -> None:
    for _, envelope in _decoded(stream):
        if isinstance(envelope.data, OrderPlaced):
            lines = envelope.data.lines
            assert 1 <= len(lines) <= PROFILE.max_lines
            assert len({line.sku for line in lines}) == len(lines)
            assert all(1 <= line.qty <= 3 for line in lines)
            assert all(0 < line.unit_price < 301 for line in lines)


def test_event_times_advance_from_the_start_time(stream: list[Outgoing]) -> None:
    times = [envelope.occurred_at for _, envelope in _decoded(stream)]
    assert times[0] == PROFILE.start_time
    assert times == sorted(times)
    later = LoadProfile(orders=10, start_time=datetime(2030, 6, 1, tzinfo=UTC))
    first = decode_event(next(generate(later)).value)
    assert first.occurred_at == later.start_time


def test_profile_ratios_are_respected(stream: list[Outgoing]) -> None:
    summary = LoadSummary.of(stream)
    orders = PROFILE.orders
    assert summary.orders == orders
    assert summary.by_event_type["OrderCancellationRequested"] == pytest.approx(
        PROFILE.cancel_ratio * orders, abs=15
    )
    assert summary.by_event_type["PaymentDeclined"] == pytest.approx(
        PROFILE.decline_ratio * orders, abs=20
    )
    assert summary.duplicates == pytest.approx(PROFILE.duplicate_ratio * summary.events, rel=0.25)
    assert summary.malformed == pytest.approx(PROFILE.malformed_ratio * summary.events, rel=0.3)
    first = _first_positions(stream)
    payment_first = sum(
        1 for order_id, at in first["OrderPlaced"].items() if first["Payment"][order_id] < at
    )
    assert payment_first == pytest.approx(PROFILE.payment_first_ratio * orders, rel=0.2)


def _first_positions(stream: list[Outgoing]) -> dict[str, dict[bytes, int]]:
    """Where each order's placement, cancellation and payment first appear in the stream."""
    first: dict[str, dict[bytes, int]] = {"OrderPlaced": {}, "Cancel": {}, "Payment": {}}
    names = {
        "OrderPlaced": "OrderPlaced",
        "OrderCancellationRequested": "Cancel",
        "PaymentAuthorized": "Payment",
        "PaymentDeclined": "Payment",
    }
    for position, message in enumerate(stream):
        if message.kind == "event" and message.label in names:
            first[names[message.label]].setdefault(message.key, position)
    return first


def test_payment_can_arrive_before_its_order(stream: list[Outgoing]) -> None:
    first = _first_positions(stream)
    early = [o for o, at in first["Payment"].items() if at < first["OrderPlaced"][o]]
    assert early
    assert all(first["Payment"][o] > at for o, at in first["OrderPlaced"].items() if o not in early)


def test_cancellation_follows_its_order_and_precedes_its_payment(stream: list[Outgoing]) -> None:
    first = _first_positions(stream)
    assert first["Cancel"]
    for order_id, at in first["Cancel"].items():
        assert first["OrderPlaced"][order_id] < at < first["Payment"][order_id]


def test_orders_interleave_across_topics(stream: list[Outgoing]) -> None:
    first = _first_positions(stream)
    overtaken = sum(
        1
        for order_id, paid_at in first["Payment"].items()
        if any(first["OrderPlaced"][o] < paid_at for o in first["OrderPlaced"] if o > order_id)
    )
    assert overtaken > PROFILE.orders // 2


def set_aside_as_invalid(message: Outgoing) -> bool:
    """Whether the pipeline's core sets the message aside as undecodable."""
    verdict = judge(ORDERS, {"orders": {}}, message.key, message.value, lambda _: False)
    return verdict.set_aside is not None and verdict.set_aside[0] == "invalid"


def test_malformed_messages_are_all_set_aside_as_invalid(stream: list[Outgoing]) -> None:
    malformed = [m for m in stream if m.kind == "malformed"]
    for message in malformed:
        assert set_aside_as_invalid(message), message.label
        assert message.event_id is None
    assert {m.label for m in malformed} == set(SPOILERS)
    assert {m.topic_role for m in malformed} == {"orders", "payments", "inventory"}


@pytest.mark.parametrize("name", sorted(SPOILERS))
def test_each_spoiler_breaks_every_message_it_touches(name: str) -> None:
    profile = LoadProfile(orders=200, seed=3, malformed_ratio=1.0, duplicate_ratio=0.0)
    broken = [m for m in generate(profile) if m.kind == "malformed" and m.label == name]
    assert broken
    for message in broken:
        assert set_aside_as_invalid(message)


def test_duplicates_repeat_event_id_and_bytes(stream: list[Outgoing]) -> None:
    originals = {m.event_id: m for m in stream if m.kind == "event"}
    duplicates = [m for m in stream if m.kind == "duplicate"]
    assert duplicates
    for position, duplicate in enumerate(stream):
        if duplicate.kind != "duplicate":
            continue
        original = originals[duplicate.event_id]
        assert (duplicate.topic_role, duplicate.key, duplicate.value) == (
            original.topic_role,
            original.key,
            original.value,
        )
        assert stream.index(original) < position


def test_default_stock_runs_out_for_a_minority_of_orders() -> None:
    for orders, seed in ((500, 1), (3_000, 2)):
        share = _out_of_stock_share(list(generate(LoadProfile(orders=orders, seed=seed))))
        assert 0.10 <= share <= 0.20


def _out_of_stock_share(stream: list[Outgoing]) -> float:
    """Share of orders a first-come, first-served warehouse cannot fill at placement."""
    available: Counter[str] = Counter()
    held: dict[str, dict[str, int]] = {}
    ended: set[str] = set()
    short = placed = 0
    for message in stream:
        if message.kind != "event":
            continue
        document = orjson.loads(message.value)
        data, event_type = document["data"], document["event_type"]
        if event_type == "StockReceived":
            available[data["sku"]] += data["qty"]
        elif event_type == "OrderPlaced":
            placed += 1
            wanted = {line["sku"]: line["qty"] for line in data["lines"]}
            if all(available[sku] >= qty for sku, qty in wanted.items()):
                available.subtract(wanted)
                held[data["order_id"]] = wanted
            else:
                short += 1
        elif event_type in ("PaymentDeclined", "OrderCancellationRequested"):
            if data["order_id"] not in ended:
                available.update(held.pop(data["order_id"], {}))
            ended.add(data["order_id"])
        elif event_type == "PaymentAuthorized":
            ended.add(data["order_id"])
    return short / placed


def test_summary_counts_what_was_generated(stream: list[Outgoing]) -> None:
    summary = LoadSummary.of(stream)
    assert summary.messages == len(stream)
    assert summary.by_topic.total() == len(stream)
    assert summary.malformed_by_kind.total() == summary.malformed
    assert summary.order_ids == {m.key.decode() for m in stream if m.label == "OrderPlaced"}
    assert "orders" in summary.render()


def test_an_empty_profile_sends_only_stock() -> None:
    messages = list(generate(LoadProfile(orders=0, skus=3, max_lines=3, duplicate_ratio=0.0)))
    assert [m.label for m in messages] == ["StockReceived"] * 3


@pytest.mark.parametrize(
    "changes",
    [
        {"orders": -1},
        {"skus": 0},
        {"max_lines": 6, "skus": 5},
        {"decline_ratio": 1.5},
        {"initial_stock_per_sku": 0},
        {"start_time": datetime(2026, 1, 1)},  # naive: no UTC offset
    ],
)
def test_profile_refuses_impossible_shops(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        LoadProfile(**{"orders": 10, **changes})  # type: ignore[arg-type]
