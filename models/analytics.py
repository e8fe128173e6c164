"""Revenue and order counts per tumbling window of event time, as pure functions."""

from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from models.base import Record
from models.envelope import Envelope, derive
from models.events import MetricRecorded, OrderCancelled, OrderConfirmed, OrderRejected
from models.fields import UtcDatetime

WINDOW_SECONDS = 60


def window_start(at: datetime, seconds: int = WINDOW_SECONDS) -> datetime:
    """Start of the tumbling window of ``seconds`` that contains ``at``."""
    epoch = int(at.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


def measure(outcome: Envelope, seconds: int = WINDOW_SECONDS) -> list[Envelope]:
    """The metric increments an order outcome contributes to its window."""
    data = outcome.data
    if isinstance(data, OrderConfirmed):
        amounts = [(f"revenue.{data.currency}", data.total), ("orders.confirmed", Decimal(1))]
    elif isinstance(data, OrderRejected):
        amounts = [("orders.rejected", Decimal(1))]
    elif isinstance(data, OrderCancelled):
        amounts = [("orders.cancelled", Decimal(1))]
    else:
        return []
    start = window_start(outcome.occurred_at, seconds)
    return [
        derive(
            outcome,
            MetricRecorded(
                metric=metric, window_start=start, window_seconds=seconds, amount=amount
            ),
            seq=seq,
        )
        for seq, (metric, amount) in enumerate(amounts)
    ]


class WindowTotal(Record):
    """The running total of one metric in one window (as seen by one partition)."""

    metric: str
    window_start: UtcDatetime
    window_seconds: int
    amount: Decimal

    @property
    def window_end(self) -> datetime:
        """End of the window (exclusive)."""
        return self.window_start + timedelta(seconds=self.window_seconds)


def window_key(recorded: MetricRecorded) -> str:
    """Table key of the window an increment belongs to."""
    return f"{recorded.metric}@{recorded.window_start.isoformat()}"


def add(total: WindowTotal | None, recorded: MetricRecorded) -> WindowTotal:
    """The window's total after one more increment."""
    if total is None:
        return WindowTotal(
            metric=recorded.metric,
            window_start=recorded.window_start,
            window_seconds=recorded.window_seconds,
            amount=recorded.amount,
        )
    return total.model_copy(update={"amount": total.amount + recorded.amount})


def record(windows: MutableMapping[str, WindowTotal], outcome: Envelope) -> list[Envelope]:
    """Add an order outcome's increments to their windows; the increments, to publish."""
    increments = measure(outcome)
    for increment in increments:
        recorded = increment.data
        assert isinstance(recorded, MetricRecorded)
        key = window_key(recorded)
        windows[key] = add(windows.get(key), recorded)
    return increments
