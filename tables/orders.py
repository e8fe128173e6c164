"""Table ``orders``: the saga state of every order, keyed by order id."""

from ecommerce_streams.worker.app import app, settings
from models.order import OrderState

orders = app.Table(
    "orders",
    key_type=str,
    value_type=OrderState,
    partitions=settings.partitions,
    help="Saga state per order id.",
)
