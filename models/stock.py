"""Inventory of one sku: units on hand, units held for orders, and the deciders that move them."""

from collections.abc import MutableMapping
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from models.base import Record
from models.envelope import Envelope, derive
from models.events import (
    CommitStock,
    ReleaseStock,
    ReserveStock,
    StockAdjusted,
    StockReceived,
    StockReleased,
    StockReservationRejected,
    StockReserved,
)
from models.fields import MAX_LINE_QTY, OrderId, Sku
from models.refusal import Refused

Units = Annotated[int, Field(strict=True, ge=0)]
ReservationStatus = Literal["reserved", "rejected", "released", "committed"]


class StockLevel(Record):
    """How many units of a sku are on the shelf and how many of those are held for orders."""

    sku: Sku
    on_hand: Units = 0
    reserved: Units = 0

    @model_validator(mode="after")
    def _reserved_within_on_hand(self) -> Self:
        """Never hold more units than are on the shelf."""
        if self.reserved > self.on_hand:
            raise ValueError(f"{self.reserved} units reserved but only {self.on_hand} on hand")
        return self

    @property
    def available(self) -> int:
        """Units that can still be reserved."""
        return self.on_hand - self.reserved


class Reservation(Record):
    """What one order holds of one sku; qty 0 marks a release that arrived before any hold."""

    order_id: OrderId
    sku: Sku
    qty: Annotated[int, Field(strict=True, ge=0, le=MAX_LINE_QTY)]
    status: ReservationStatus


def reservation_key(sku: str, order_id: str) -> str:
    """The table key a reservation is stored under."""
    return f"{sku}/{order_id}"


def apply_stock(level: StockLevel | None, event: Envelope) -> tuple[StockLevel, list[Envelope]]:
    """Apply a warehouse delivery or correction to a sku's stock level."""
    data = event.data
    if not isinstance(data, StockReceived | StockAdjusted):
        raise Refused(f"a stock level does not handle {event.event_type}")
    level = _level_of(level, data.sku)
    match data:
        case StockReceived(qty=qty):
            return level.model_copy(update={"on_hand": level.on_hand + qty}), []
        case StockAdjusted(delta=delta):
            on_hand = level.on_hand + delta
            if on_hand < 0:
                raise Refused(f"adjusting sku {data.sku} by {delta} leaves {on_hand} on hand")
            if on_hand < level.reserved:
                raise Refused(
                    f"adjusting sku {data.sku} by {delta} leaves {on_hand} on hand,"
                    f" below the {level.reserved} reserved"
                )
            return level.model_copy(update={"on_hand": on_hand}), []


def apply_command(
    level: StockLevel | None, reservation: Reservation | None, command: Envelope
) -> tuple[StockLevel, Reservation | None, list[Envelope]]:
    """Reserve, release or commit a sku's stock for an order, at most once per order and sku."""
    data = command.data
    if not isinstance(data, ReserveStock | ReleaseStock | CommitStock):
        raise Refused(f"a stock level does not handle {command.event_type}")
    level = _level_of(level, data.sku)
    if reservation is not None and (reservation.order_id, reservation.sku) != (
        data.order_id,
        data.sku,
    ):
        raise Refused(
            f"reservation of {reservation.order_id}/{reservation.sku}"
            f" given for {data.order_id}/{data.sku}"
        )
    match data:
        case ReserveStock():
            return _reserve(level, reservation, command, data)
        case ReleaseStock():
            return _release(level, reservation, command, data)
        case CommitStock():
            return _commit(level, reservation, data)


def _level_of(level: StockLevel | None, sku: str) -> StockLevel:
    """The stock level of ``sku``, starting from nothing on hand."""
    if level is None:
        return StockLevel(sku=sku)
    if level.sku != sku:
        raise Refused(f"event for sku {sku} applied to the stock of sku {level.sku}")
    return level


def _reserve(
    level: StockLevel, reservation: Reservation | None, command: Envelope, reserve: ReserveStock
) -> tuple[StockLevel, Reservation | None, list[Envelope]]:
    """Hold the units if they are available, or say how many are."""
    if reservation is not None:
        return level, reservation, []
    order_id, sku, qty = reserve.order_id, reserve.sku, reserve.qty
    if level.available < qty:
        rejected = Reservation(order_id=order_id, sku=sku, qty=qty, status="rejected")
        answer = StockReservationRejected(
            order_id=order_id, sku=sku, qty=qty, available=level.available
        )
        return level, rejected, [derive(command, answer)]
    held = level.model_copy(update={"reserved": level.reserved + qty})
    reserved = Reservation(order_id=order_id, sku=sku, qty=qty, status="reserved")
    confirmation = StockReserved(order_id=order_id, sku=sku, qty=qty)
    return held, reserved, [derive(command, confirmation)]


def _release(
    level: StockLevel, reservation: Reservation | None, command: Envelope, release: ReleaseStock
) -> tuple[StockLevel, Reservation | None, list[Envelope]]:
    """Give back held units; a release that finds nothing blocks a later reserve."""
    order_id, sku = release.order_id, release.sku
    if reservation is None:
        return level, Reservation(order_id=order_id, sku=sku, qty=0, status="released"), []
    if reservation.status != "reserved":
        return level, reservation, []
    freed = level.model_copy(update={"reserved": level.reserved - reservation.qty})
    released = reservation.model_copy(update={"status": "released"})
    answer = StockReleased(order_id=order_id, sku=sku, qty=reservation.qty)
    return freed, released, [derive(command, answer)]


def _commit(
    level: StockLevel, reservation: Reservation | None, commit: CommitStock
) -> tuple[StockLevel, Reservation | None, list[Envelope]]:
    """Take held units off the shelf for shipping."""
    if reservation is not None and reservation.status == "committed":
        return level, reservation, []
    if reservation is None or reservation.status != "reserved":
        state = "missing" if reservation is None else reservation.status
        raise Refused(f"cannot commit sku {commit.sku} of order {commit.order_id}: {state}")
    taken = level.model_copy(
        update={
            "on_hand": level.on_hand - reservation.qty,
            "reserved": level.reserved - reservation.qty,
        }
    )
    return taken, reservation.model_copy(update={"status": "committed"}), []


def decide(
    levels: MutableMapping[str, StockLevel],
    reservations: MutableMapping[str, Reservation],
    event: Envelope,
) -> list[Envelope]:
    """Apply a stock movement or a per-order command to the sku's level (and reservation)."""
    data = event.data
    sku = data.key
    if isinstance(data, ReserveStock | ReleaseStock | CommitStock):
        key = reservation_key(sku, data.order_id)
        level, reservation, derived = apply_command(levels.get(sku), reservations.get(key), event)
        if reservation is not None:
            reservations[key] = reservation
    else:
        level, derived = apply_stock(levels.get(sku), event)
    levels[sku] = level
    return derived
