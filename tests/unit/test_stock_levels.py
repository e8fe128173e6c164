"""Stock levels: deliveries and corrections of the units on hand."""

from datetime import UTC, datetime
from uuid import UUID

import pytest
from pydantic import ValidationError

from models.envelope import Envelope
from models.events import Payload, ReserveStock, StockAdjusted, StockReceived
from models.refusal import Refused
from models.stock import StockLevel, apply_stock

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def warehouse(data: Payload) -> Envelope:
    """Wrap a warehouse event."""
    return Envelope.of(data, event_id=UUID(int=1), source="warehouse", occurred_at=AT)


def adjusted(delta: int) -> Envelope:
    """A stock-take correction of MUG-RED."""
    return warehouse(StockAdjusted(sku="MUG-RED", delta=delta, reason="stock-take"))


def test_missing_stock_level_starts_with_nothing_on_hand() -> None:
    level, derived = apply_stock(None, warehouse(StockReceived(sku="MUG-RED", qty=5)))
    assert level == StockLevel(sku="MUG-RED", on_hand=5, reserved=0)
    assert derived == []


def test_received_stock_adds_to_on_hand() -> None:
    level = StockLevel(sku="MUG-RED", on_hand=5, reserved=2)
    after, _ = apply_stock(level, warehouse(StockReceived(sku="MUG-RED", qty=10)))
    assert (after.on_hand, after.reserved, after.available) == (15, 2, 13)


def test_adjustment_changes_on_hand_by_its_delta() -> None:
    level = StockLevel(sku="MUG-RED", on_hand=5, reserved=2)
    assert apply_stock(level, adjusted(-3))[0].on_hand == 2
    assert apply_stock(level, adjusted(+4))[0].on_hand == 9


def test_adjustment_below_reserved_is_refused() -> None:
    level = StockLevel(sku="MUG-RED", on_hand=5, reserved=3)
    with pytest.raises(Refused, match="leaves 2 on hand, below the 3 reserved"):
        apply_stock(level, adjusted(-3))


def test_adjustment_below_zero_is_refused() -> None:
    with pytest.raises(Refused, match="leaves -1 on hand"):
        apply_stock(None, adjusted(-1))


def test_event_for_another_sku_is_refused() -> None:
    level = StockLevel(sku="TEE-L", on_hand=5)
    with pytest.raises(Refused, match="applied to the stock of sku TEE-L"):
        apply_stock(level, warehouse(StockReceived(sku="MUG-RED", qty=1)))


def test_stock_command_is_not_a_warehouse_event() -> None:
    command = warehouse(ReserveStock(order_id="o-1", sku="MUG-RED", qty=1))
    with pytest.raises(Refused, match="does not handle ReserveStock"):
        apply_stock(None, command)


def test_available_is_on_hand_minus_reserved() -> None:
    assert StockLevel(sku="MUG-RED", on_hand=7, reserved=3).available == 4


def test_more_reserved_than_on_hand_is_invalid() -> None:
    with pytest.raises(ValidationError, match="3 units reserved but only 2 on hand"):
        StockLevel(sku="MUG-RED", on_hand=2, reserved=3)


def test_negative_counts_are_invalid() -> None:
    with pytest.raises(ValidationError):
        StockLevel(sku="MUG-RED", on_hand=-1)


def test_stock_level_round_trips_through_its_table_codec() -> None:
    level = StockLevel(sku="MUG-RED", on_hand=7, reserved=3)
    assert StockLevel.from_data(level.__json__()) == level
    assert StockLevel.from_bytes(level.to_bytes()) == level
