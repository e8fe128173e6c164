"""Amounts of money: exact decimals with at most two places, written as JSON strings."""

import re
from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

MAX_AMOUNT = Decimal("1000000000")
CENT = Decimal("0.01")

_AMOUNT_TEXT = re.compile(r"\d{1,10}(?:\.\d{1,2})?")


def to_amount(value: object) -> Decimal:
    """Turn a wire or Python value into a non-negative amount rounded to whole cents."""
    if isinstance(value, bool | float):
        raise ValueError('money must be a decimal string such as "19.99", not a float')
    if isinstance(value, str):
        if _AMOUNT_TEXT.fullmatch(value) is None:
            raise ValueError('money must look like "19.99": digits, at most two decimals')
        amount = Decimal(value)
    elif isinstance(value, int):
        if not 0 <= value <= MAX_AMOUNT:
            raise ValueError(f"money must be between 0 and {MAX_AMOUNT}")
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    else:
        raise ValueError('money must be a decimal string such as "19.99"')
    if not amount.is_finite() or not 0 <= amount <= MAX_AMOUNT:
        raise ValueError(f"money must be between 0 and {MAX_AMOUNT}")
    cents = amount.quantize(CENT)
    if cents != amount:
        raise ValueError("money has at most two decimal places")
    return cents


def amount_text(amount: Decimal) -> str:
    """Write an amount in plain decimal notation, e.g. ``19.99``."""
    return format(amount, "f")


Money = Annotated[
    Decimal,
    BeforeValidator(to_amount),
    PlainSerializer(amount_text, return_type=str, when_used="json"),
]
"""A non-negative amount of at most 1 000 000 000 with at most two decimals."""
