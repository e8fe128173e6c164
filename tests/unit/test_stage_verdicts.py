"""What an input message comes to, with the real stages over plain dicts (no Kafka, no Faust)."""

from typing import Any
from uuid import UUID

from models.envelope import derive, encode_event
from models.events import StockReserved
from models.stages import ORDERS, judge
from models.topics import TopicRole
from tests.unit.order_samples import PLACED


def never_applied(event_id: object) -> bool:
    """No event id was applied before."""
    return False


def order_tables() -> dict[str, dict[Any, Any]]:
    """The orders stage's table, empty."""
    return {"orders": {}}


def test_a_placed_order_asks_for_its_stock_and_is_stored() -> None:
    tables = order_tables()
    verdict = judge(ORDERS, tables, b"o-1", encode_event(PLACED), never_applied)

    assert verdict.set_aside is None and not verdict.duplicate
    assert [e.data.topic for e in verdict.derived] == [TopicRole.INVENTORY_COMMANDS]
    assert "o-1" in tables["orders"]


def test_bytes_that_are_not_an_event_are_set_aside_as_invalid() -> None:
    verdict = judge(ORDERS, order_tables(), b"o-1", b"\xff not json", never_applied)
    assert verdict.set_aside is not None and verdict.set_aside[0] == "invalid"


def test_a_message_without_a_value_is_set_aside_as_a_tombstone_not_raised() -> None:
    verdict = judge(ORDERS, order_tables(), b"o-1", None, never_applied)
    assert verdict.set_aside == ("invalid", "the message has no value (a tombstone)")


def test_a_message_under_another_key_is_set_aside_as_misrouted() -> None:
    verdict = judge(ORDERS, order_tables(), b"o-2", encode_event(PLACED), never_applied)
    assert verdict.set_aside == (
        "misrouted",
        "message key 'o-2' does not match OrderPlaced key 'o-1'",
    )


def test_an_event_applied_before_changes_nothing() -> None:
    tables = order_tables()
    reserved = derive(PLACED, StockReserved(order_id="o-1", sku="MUG", qty=1))
    verdict = judge(ORDERS, tables, b"o-1", encode_event(reserved), lambda event_id: True)
    assert verdict.duplicate and not verdict.derived and tables["orders"] == {}


def test_a_shop_event_the_order_applied_before_is_a_duplicate_by_the_orders_own_state() -> None:
    tables = order_tables()
    judge(ORDERS, tables, b"o-1", encode_event(PLACED), never_applied)
    before = tables["orders"]["o-1"]

    again = judge(ORDERS, tables, b"o-1", encode_event(PLACED), never_applied)

    assert again.duplicate and not again.derived
    assert tables["orders"]["o-1"] is before
    assert before.applied_inputs == (PLACED.event_id,)


def test_an_event_the_aggregate_refuses_is_set_aside_with_its_reason() -> None:
    tables = order_tables()
    judge(ORDERS, tables, b"o-1", encode_event(PLACED), never_applied)
    changed = PLACED.data.model_copy(update={"shipping_address": "5 Dock Road, Cobh"})
    again = PLACED.model_copy(update={"event_id": UUID(int=2), "data": changed})

    verdict = judge(ORDERS, tables, b"o-1", encode_event(again), never_applied)

    assert verdict.set_aside == (
        "refused",
        "order o-1 was already placed with different content",
    )
