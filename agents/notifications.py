"""The notifications agent: asks for an e-mail to the customer on each order outcome."""

from faust.types import StreamT

from ecommerce_streams.worker import topics
from ecommerce_streams.worker.app import app
from ecommerce_streams.worker.pipeline import run_stage
from models.stages import NOTIFICATIONS


@app.agent(topics.reading(NOTIFICATIONS), name=NOTIFICATIONS.name)
async def request_notifications(stream: StreamT[bytes]) -> None:
    """order-events -> notifications."""
    await run_stage(stream, NOTIFICATIONS, {})
