"""The inventory agent: receives stock and reserves, releases and commits it per order."""

from collections.abc import Iterable

from ecommerce_streams.worker import topics
from ecommerce_streams.worker.app import app
from ecommerce_streams.worker.pipeline import run_stage
from models import stock as stock_model
from models.envelope import Envelope
from models.events import CommitStock, ReleaseStock, ReserveStock
from tables.stock import reservations, stock

COMMANDS = (ReserveStock, ReleaseStock, CommitStock)


def decide(envelope: Envelope) -> Iterable[Envelope]:
    """Apply a stock movement or a per-order command to the sku's level."""
    sku = envelope.data.sku
    if isinstance(envelope.data, COMMANDS):
        key = stock_model.reservation_key(sku, envelope.data.order_id)
        level, reservation, derived = stock_model.apply_command(
            stock.get(sku), reservations.get(key), envelope
        )
        if reservation is not None:
            reservations[key] = reservation
    else:
        level, derived = stock_model.apply_stock(stock.get(sku), envelope)
    stock[sku] = level
    return derived


@app.agent(topics.stock_inputs, name="inventory")
async def run_inventory(stream) -> None:
    """inventory + inventory-commands -> inventory-results."""
    await run_stage(stream, stage="inventory", decide=decide)
