"""The analytics agent: revenue and order counts per minute from order outcomes."""

from faust.types import StreamT

from ecommerce_streams.worker import topics
from ecommerce_streams.worker.app import app
from ecommerce_streams.worker.pipeline import run_stage
from models.stages import ANALYTICS
from tables.analytics import windows


@app.agent(topics.reading(ANALYTICS), name=ANALYTICS.name)
async def record_analytics(stream: StreamT[bytes]) -> None:
    """order-events -> analytics."""
    await run_stage(stream, ANALYTICS, {"windows": windows})
