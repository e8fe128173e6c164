"""Tables ``stock`` (level per sku) and ``reservations`` (one per order and sku)."""

from ecommerce_streams.worker.app import app, settings
from models.stock import Reservation, StockLevel

stock = app.Table(
    "stock",
    key_type=str,
    value_type=StockLevel,
    partitions=settings.partitions,
    help="On-hand and reserved quantity per sku.",
)

reservations = app.Table(
    "reservations",
    key_type=str,
    value_type=Reservation,
    partitions=settings.partitions,
    help="Reservation per '<sku>/<order id>', kept apart so stock levels stay small.",
)
