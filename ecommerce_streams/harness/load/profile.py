"""The shape of one load run: how many orders, from how many customers, with what mishaps."""

import math
from dataclasses import dataclass
from datetime import UTC, datetime

DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)

QTY_WEIGHTS = {1: 6, 2: 3, 3: 1}
"""Units per line: mostly one, sometimes two, rarely three."""

STOCK_COVER = 1.9
"""Auto-sized stock per sku as a multiple of the units an average sku is asked for.

Best sellers are asked for several times the average, so they run out part way through
the run: with the default ratios the order saga rejects 13..17% of the orders as out of
stock from 1 000 orders up; runs of a few hundred orders run out more often (17..23%).
"""


@dataclass(frozen=True)
class LoadProfile:
    """Everything that shapes a generated stream; the same profile gives the same bytes.

    Ratios are per order (decline, cancel, payment first) or per valid event sent
    (duplicate, malformed). ``initial_stock_per_sku=None`` sizes the stock from the
    number of orders (see :data:`STOCK_COVER`); cancelled orders always pay after their
    cancellation, so they are never payment-first.
    """

    orders: int
    seed: int = 1
    customers: int = 500
    skus: int = 100
    initial_stock_per_sku: int | None = None
    max_lines: int = 5
    decline_ratio: float = 0.05
    cancel_ratio: float = 0.03
    duplicate_ratio: float = 0.05
    malformed_ratio: float = 0.02
    payment_first_ratio: float = 0.2
    start_time: datetime = DEFAULT_START

    def __post_init__(self) -> None:
        """Refuse profiles that cannot describe a shop."""
        if self.orders < 0:
            raise ValueError(f"orders must be >= 0, not {self.orders}")
        for name in ("customers", "skus", "max_lines"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, not {getattr(self, name)}")
        if self.max_lines > self.skus:
            raise ValueError(f"max_lines ({self.max_lines}) cannot exceed skus ({self.skus})")
        if self.initial_stock_per_sku is not None and self.initial_stock_per_sku < 1:
            raise ValueError(
                f"initial_stock_per_sku must be >= 1, not {self.initial_stock_per_sku}"
            )
        for name in (
            "decline_ratio",
            "cancel_ratio",
            "duplicate_ratio",
            "malformed_ratio",
            "payment_first_ratio",
        ):
            ratio = getattr(self, name)
            if not 0.0 <= ratio <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {ratio}")
        if self.start_time.utcoffset() is None:
            raise ValueError("start_time must be timezone-aware")

    def line_count_weights(self) -> list[float]:
        """Relative likelihood of an order having 1..max_lines lines: 1/n, small baskets first."""
        return [1 / n for n in range(1, self.max_lines + 1)]

    def mean_units_per_order(self) -> float:
        """Average units an order asks for, over all its lines."""
        weights = self.line_count_weights()
        mean_lines = sum(n * w for n, w in enumerate(weights, start=1)) / sum(weights)
        mean_qty = sum(q * w for q, w in QTY_WEIGHTS.items()) / sum(QTY_WEIGHTS.values())
        return mean_lines * mean_qty

    def stock_per_sku(self) -> int:
        """Units of each sku the warehouse receives before the first order."""
        if self.initial_stock_per_sku is not None:
            return self.initial_stock_per_sku
        average_sold = self.orders * self.mean_units_per_order() / self.skus
        return max(1, math.ceil(STOCK_COVER * average_sold))
