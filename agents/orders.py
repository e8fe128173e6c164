"""The orders agent: runs each order's saga over orders, payments and stock results."""

from faust.types import StreamT

from ecommerce_streams.worker import topics
from ecommerce_streams.worker.app import app
from ecommerce_streams.worker.pipeline import run_stages
from models.stages import ORDERS
from tables.orders import orders


@app.agent(topics.reading(ORDERS), name=ORDERS.name)
async def run_order_sagas(stream: StreamT[bytes]) -> None:
    """orders + payments + inventory-results -> order-events, shipments, inventory-commands."""
    await run_stages(stream, (ORDERS,), {"orders": orders})
