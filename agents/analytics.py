"""The analytics agent: revenue and order counts per minute from order outcomes."""

from collections.abc import Iterable

from ecommerce_streams.worker import topics
from ecommerce_streams.worker.app import app
from ecommerce_streams.worker.pipeline import run_stage
from models import analytics
from models.envelope import Envelope
from tables.analytics import windows


def decide(outcome: Envelope) -> Iterable[Envelope]:
    """Add the outcome's increments to their windows and publish them."""
    increments = analytics.measure(outcome)
    for increment in increments:
        key = analytics.window_key(increment.data)
        windows[key] = analytics.add(windows.get(key), increment.data)
    return increments


@app.agent(topics.order_events, name="analytics")
async def record_analytics(stream) -> None:
    """order-events -> analytics."""
    await run_stage(stream, stage="analytics", decide=decide)
