"""The routing agent: shipments and notifications, offered to the rules and subscriptions."""

from faust.types import StreamT

from ecommerce_streams.worker import routing, topics
from ecommerce_streams.worker.app import app
from ecommerce_streams.worker.pipeline import run_stages
from models.stages import ROUTING


async def route_outcomes(stream: StreamT[bytes]) -> None:
    """shipments, notifications -> rule targets and subscribers (order-events are routed by
    the order-outcomes agent, which reads them already)."""
    await run_stages(stream, (ROUTING,), {})


if routing.enabled:  # off in a replay and with ES_ROUTING=false
    app.agent(topics.reading(ROUTING), name="routing")(route_outcomes)
