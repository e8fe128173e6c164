"""Reservations: reserve, release and commit, each at most once per order and sku."""

from datetime import UTC, datetime
from uuid import UUID

import pytest

from models.envelope import Envelope
from models.events import (
    CommitStock,
    Payload,
    ReleaseStock,
    ReserveStock,
    StockReceived,
    StockReleased,
    StockReservationRejected,
    StockReserved,
)
from models.refusal import Refused
from models.stock import Reservation, StockLevel, apply_command, reservation_key

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MUG = "MUG-RED"


def command(data: Payload, number: int = 1) -> Envelope:
    """Wrap a command from the order saga."""
    return Envelope.of(
        data,
        event_id=UUID(int=number),
        source="ecommerce-streams",
        occurred_at=AT,
        correlation_id=getattr(data, "order_id", "flow"),
    )


def reserve(qty: int, order_id: str = "o-1") -> Envelope:
    """Ask to hold ``qty`` mugs for an order."""
    return command(ReserveStock(order_id=order_id, sku=MUG, qty=qty))


def release(order_id: str = "o-1") -> Envelope:
    """Ask to give an order's mugs back."""
    return command(ReleaseStock(order_id=order_id, sku=MUG), number=2)


def commit(order_id: str = "o-1") -> Envelope:
    """Ask to take an order's mugs off the shelf."""
    return command(CommitStock(order_id=order_id, sku=MUG), number=3)


def shelf(on_hand: int, reserved: int = 0) -> StockLevel:
    """The mug stock level."""
    return StockLevel(sku=MUG, on_hand=on_hand, reserved=reserved)


def held(qty: int, status: str = "reserved") -> Reservation:
    """What order o-1 holds of mugs."""
    return Reservation.model_validate({"order_id": "o-1", "sku": MUG, "qty": qty, "status": status})


def test_reserve_holds_available_units_and_says_so() -> None:
    level, reservation, derived = apply_command(shelf(5), None, reserve(3))
    assert (level.on_hand, level.reserved, level.available) == (5, 3, 2)
    assert reservation == held(3)
    assert [event.data for event in derived] == [StockReserved(order_id="o-1", sku=MUG, qty=3)]
    assert derived[0].causation_id == UUID(int=1)


def test_reserve_beyond_available_is_rejected_with_what_is_available() -> None:
    level, reservation, derived = apply_command(shelf(5, reserved=3), None, reserve(3))
    assert level == shelf(5, reserved=3)
    assert reservation == held(3, "rejected")
    assert [event.data for event in derived] == [
        StockReservationRejected(order_id="o-1", sku=MUG, qty=3, available=2)
    ]


def test_reserve_on_an_unknown_sku_is_rejected_with_nothing_available() -> None:
    level, _, derived = apply_command(None, None, reserve(1))
    assert level == shelf(0)
    assert derived[0].data == StockReservationRejected(order_id="o-1", sku=MUG, qty=1, available=0)


def test_reserve_is_idempotent_per_order_and_sku() -> None:
    level, reservation, _ = apply_command(shelf(5), None, reserve(3))
    assert apply_command(level, reservation, reserve(3)) == (level, reservation, [])
    rejected = held(9, "rejected")
    assert apply_command(level, rejected, reserve(9)) == (level, rejected, [])


def test_reserve_for_another_order_is_independent() -> None:
    level, _, _ = apply_command(shelf(5), None, reserve(3))
    level, reservation, derived = apply_command(level, None, reserve(2, order_id="o-2"))
    assert level.available == 0
    assert reservation is not None and reservation.order_id == "o-2"
    assert isinstance(derived[0].data, StockReserved)


def test_release_gives_held_units_back_and_says_so() -> None:
    level, reservation, derived = apply_command(shelf(5, reserved=3), held(3), release())
    assert level == shelf(5)
    assert reservation == held(3, "released")
    assert [event.data for event in derived] == [StockReleased(order_id="o-1", sku=MUG, qty=3)]


def test_commit_takes_held_units_off_the_shelf_silently() -> None:
    level, reservation, derived = apply_command(shelf(5, reserved=3), held(3), commit())
    assert level == shelf(2)
    assert reservation == held(3, "committed")
    assert derived == []


def test_release_and_commit_are_idempotent() -> None:
    level, reservation, _ = apply_command(shelf(5, reserved=3), held(3), release())
    assert apply_command(level, reservation, release()) == (level, reservation, [])
    level, reservation, _ = apply_command(shelf(5, reserved=3), held(3), commit())
    assert apply_command(level, reservation, commit()) == (level, reservation, [])


def test_release_after_commit_changes_nothing() -> None:
    committed = held(3, "committed")
    assert apply_command(shelf(2), committed, release()) == (shelf(2), committed, [])


def test_release_of_a_rejected_reservation_changes_nothing() -> None:
    rejected = held(3, "rejected")
    assert apply_command(shelf(1), rejected, release()) == (shelf(1), rejected, [])


def test_release_before_any_reserve_blocks_a_later_reserve() -> None:
    level, tombstone, derived = apply_command(shelf(5), None, release())
    assert tombstone == held(0, "released")
    assert derived == []
    assert apply_command(level, tombstone, reserve(3)) == (shelf(5), tombstone, [])


@pytest.mark.parametrize(
    ("reservation", "state"),
    [(None, "missing"), (held(3, "rejected"), "rejected"), (held(3, "released"), "released")],
)
def test_commit_without_a_held_reservation_is_refused(
    reservation: Reservation | None, state: str
) -> None:
    with pytest.raises(Refused, match=f"cannot commit sku MUG-RED of order o-1: {state}"):
        apply_command(shelf(5), reservation, commit())


def test_reservation_of_another_order_is_refused() -> None:
    with pytest.raises(Refused, match="reservation of o-1/MUG-RED given for o-2/MUG-RED"):
        apply_command(shelf(5, reserved=3), held(3), release(order_id="o-2"))


def test_warehouse_event_is_not_a_command() -> None:
    with pytest.raises(Refused, match="does not handle StockReceived"):
        apply_command(None, None, command(StockReceived(sku=MUG, qty=1)))


def test_reservation_key_joins_sku_and_order() -> None:
    assert reservation_key("MUG-RED", "o-1") == "MUG-RED/o-1"


def test_reservation_round_trips_through_its_table_codec() -> None:
    reservation = held(3)
    assert Reservation.from_data(reservation.__json__()) == reservation
    assert Reservation.from_bytes(reservation.to_bytes()) == reservation
