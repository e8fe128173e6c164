"""The order-outcomes agent: a notification and the analytics of each order outcome."""

from faust.types import StreamT

from ecommerce_streams.worker import topics
from ecommerce_streams.worker.app import app
from ecommerce_streams.worker.pipeline import run_stages
from models.stages import ANALYTICS, NOTIFICATIONS
from tables.analytics import windows

OUTCOME_STAGES = (NOTIFICATIONS, ANALYTICS)


@app.agent(topics.reading(*OUTCOME_STAGES), name="order-outcomes")
async def follow_order_outcomes(stream: StreamT[bytes]) -> None:
    """order-events -> notifications, analytics."""
    await run_stages(stream, OUTCOME_STAGES, {"windows": windows})
