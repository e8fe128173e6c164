"""The worker's real HTTP stack served in the test process, without a broker or a worker."""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

from ecommerce_streams.harness.kafka import free_port
from ecommerce_streams.routing.actions import RULES, SUBSCRIPTIONS, RoutingActions
from ecommerce_streams.routing.catalogue import Codec
from ecommerce_streams.web import ingestion, routing_api
from ecommerce_streams.web.http_server import ProblemRunner
from ecommerce_streams.web.ingestion import EventProducer
from ecommerce_streams.worker.app import app
from ecommerce_streams.worker.run import load_services
from tests.local_server import served

T = TypeVar("T")


class MemoryEntries(Generic[T]):
    """A catalogue in memory: its records as Kafka would hold them, through the same codec."""

    def __init__(self, codec: Codec[T]) -> None:
        self.codec = codec
        self.records: list[tuple[str, bytes | None]] = []

    async def current(self) -> Mapping[str, T]:
        """The latest value of every key, as a compacted topic read whole gives it."""
        entries: dict[str, T] = {}
        for key, raw in self.records:
            value = self.codec.decode(raw)
            if value is None:
                entries.pop(key, None)
            else:
                entries[key] = value
        return entries

    async def put(self, key: str, value: T | None) -> None:
        """Append one record (None: a tombstone)."""
        self.records.append((key, None if value is None else self.codec.encode(value)))


def memory_actions() -> RoutingActions:
    """The routing actions on two fresh in-memory catalogues."""
    return RoutingActions(MemoryEntries(RULES), MemoryEntries(SUBSCRIPTIONS))


@asynccontextmanager
async def serving() -> AsyncIterator[str]:
    """Serve every endpoint of a worker on a free local port; yield its base URL.

    Nothing is assigned to it (views answer 503, ``/ready`` 503), its ingestion producer
    points at a port where no broker listens and its routing catalogues are in memory,
    so nothing can reach a topic.
    """
    load_services()
    ingestion.producer = EventProducer(f"127.0.0.1:{free_port()}")
    routing_api.actions = memory_actions()
    app.web.init_server()
    async with served(ProblemRunner(app.web.web_app, access_log=None)) as url:
        yield url
