"""The inventory agent: receives stock and reserves, releases and commits it per order."""

from faust.types import StreamT

from ecommerce_streams.worker import topics
from ecommerce_streams.worker.app import app
from ecommerce_streams.worker.pipeline import run_stages
from models.stages import INVENTORY
from tables.stock import reservations, stock


@app.agent(topics.reading(INVENTORY), name=INVENTORY.name)
async def run_inventory(stream: StreamT[bytes]) -> None:
    """inventory + inventory-commands -> inventory-results."""
    await run_stages(stream, (INVENTORY,), {"stock": stock, "reservations": reservations})
