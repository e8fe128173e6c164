"""The routing agent: shipments and notifications, offered to the rules and subscriptions."""

from faust.types import StreamT

from ecommerce_streams.worker import topics
from ecommerce_streams.worker.app import app
from ecommerce_streams.worker.pipeline import run_stages
from models.stages import ROUTING


@app.agent(topics.reading(ROUTING), name="routing")
async def route_outcomes(stream: StreamT[bytes]) -> None:
    """shipments, notifications -> rule targets and subscribers (order-events are routed by
    the order-outcomes agent, which reads them already)."""
    await run_stages(stream, (ROUTING,), {})
