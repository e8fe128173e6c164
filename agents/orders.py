"""The orders agent: runs each order's saga over orders, payments and stock results."""

from collections.abc import Iterable

from ecommerce_streams.worker import topics
from ecommerce_streams.worker.app import app
from ecommerce_streams.worker.pipeline import run_stage
from models import order
from models.envelope import Envelope
from tables.orders import orders as order_table


def decide(envelope: Envelope) -> Iterable[Envelope]:
    """Advance the order's saga by one event and store its new state."""
    order_id = envelope.data.order_id
    state, derived = order.apply(order_table.get(order_id), envelope)
    order_table[order_id] = state
    return derived


@app.agent(topics.order_inputs, name="orders")
async def run_order_sagas(stream) -> None:
    """orders + payments + inventory-results -> order-events, shipments, stock commands."""
    await run_stage(stream, stage="orders", decide=decide)
