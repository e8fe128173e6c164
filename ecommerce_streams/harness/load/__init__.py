"""Seeded, realistic shop traffic for tests, the demo and benchmarks."""

from ecommerce_streams.harness.load.malformed import SPOILERS
from ecommerce_streams.harness.load.profile import LoadProfile
from ecommerce_streams.harness.load.sending import send_load
from ecommerce_streams.harness.load.summary import LoadSummary
from ecommerce_streams.harness.load.traffic import Outgoing, generate, order_id_of

__all__ = [
    "SPOILERS",
    "LoadProfile",
    "LoadSummary",
    "Outgoing",
    "generate",
    "order_id_of",
    "send_load",
]
