"""The worker's checker of framed values, on the configured schema registry."""

from functools import cache

from ecommerce_streams.schemas.evolution import registry_url
from ecommerce_streams.schemas.framed import FramedEvents
from ecommerce_streams.worker.app import settings


@cache
def framed_events() -> FramedEvents:
    """One checker per worker (its schemas cached by id), created on first use."""
    return FramedEvents(registry_url(settings))
