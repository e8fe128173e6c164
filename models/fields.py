"""Constrained scalar types shared by the shop's events: ids, quantities, text and instants."""

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, StringConstraints

Identifier = Annotated[
    str,
    StringConstraints(strict=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$"),
]
"""An id as the shop writes it: 1..64 characters of letters, digits and ``._:-``."""

OrderId = Identifier
CustomerId = Identifier
PaymentId = Identifier
Sku = Identifier

FreeText = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=500)]
"""Human-written text such as a reason or a shipping address: 1..500 characters."""

TemplateName = Annotated[
    str,
    StringConstraints(strict=True, min_length=1, max_length=64, pattern=r"^[a-z0-9_.-]+$"),
]
"""The name of a notification template, e.g. ``order_confirmed``."""

MAX_LINE_QTY = 10_000
MAX_RECEIVED_QTY = 1_000_000
MAX_ADJUSTMENT = 1_000_000

Quantity = Annotated[int, Field(strict=True, gt=0, le=MAX_LINE_QTY)]
"""How many units of one sku an order line, reservation or release is about."""

ReceivedQuantity = Annotated[int, Field(strict=True, gt=0, le=MAX_RECEIVED_QTY)]
"""How many units of one sku a delivery to the warehouse brought in."""


def _non_zero(delta: int) -> int:
    """Reject an adjustment that changes nothing."""
    if delta == 0:
        raise ValueError("a stock adjustment must change the count")
    return delta


Adjustment = Annotated[
    int,
    Field(strict=True, ge=-MAX_ADJUSTMENT, le=MAX_ADJUSTMENT),
    AfterValidator(_non_zero),
]
"""A signed, non-zero correction of the units on hand."""


RFC_3339_DATE_TIME = re.compile(
    r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:?\d\d)", re.ASCII
)
"""A date-time as RFC 3339 writes it (JSON Schema's ``date-time`` format), offset included."""


def _iso_instant_only(value: object) -> object:
    """Accept datetimes and RFC 3339 date-time strings; refuse epoch numbers, as strings too."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and RFC_3339_DATE_TIME.fullmatch(value):
        return value
    raise ValueError("expected an RFC 3339 date-time string with a UTC offset")


def _as_utc(value: datetime) -> datetime:
    """Express an aware instant in UTC."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("date-time is out of range once converted to UTC") from None


UtcDatetime = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_instant_only),
    AfterValidator(_as_utc),
]
"""A timezone-aware instant, normalised to UTC."""
