"""The notifications agent: asks for an e-mail to the customer on each order outcome."""

from ecommerce_streams import topics
from ecommerce_streams.app import app
from ecommerce_streams.exactly_once import unit_of_work
from ecommerce_streams.pipeline import apply_event
from models.notification import notify


@app.agent(topics.order_events, name="notifications")
async def request_notifications(stream) -> None:
    """order-events -> notifications."""
    async for event in stream.noack().events():
        async with unit_of_work(app, event):
            await apply_event(event, stage="notifications", decide=notify)
