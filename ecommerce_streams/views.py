"""Table views: ``GET /orders/{order_id}`` and ``GET /inventory/{sku}`` from any worker.

A key lives in the partition its *source topic* put it in: murmur2 of the raw key
bytes, as every Kafka producer computes it. Faust's ``table_route`` hashes the
table's serialized key instead (faust-streaming #187, #514), which differs for JSON
keys, so routing is done here: find the worker that owns the key's changelog
partition and answer locally or proxy the request to it.
"""

from typing import Any

import aiohttp
from aiokafka.partitioner import murmur2
from faust import Table
from faust.types import TP
from faust.web import Request, Response, View

from ecommerce_streams.app import app, settings
from tables.orders import orders
from tables.stock import stock

ROUTED_HEADER = "X-ES-Routed"


def partition_of(key: str, partitions: int = settings.partitions) -> int:
    """The partition a producer puts ``key`` in (Kafka's default murmur2 partitioner)."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def owner_of(table: Table, key: str) -> str | None:
    """URL of the worker that owns ``key`` in ``table``, or None while unassigned."""
    changelog = table.changelog_topic.get_topic_name()
    return app.assignor._tps_url.get(TP(changelog, partition_of(key)))


async def answer_from_owner(
    view: View, request: Request, table: Table, key: str, render: Any
) -> Response:
    """Answer from the local table if this worker owns the key, else from its owner."""
    owner = owner_of(table, key)
    if owner is None:
        return view.json({"error": "no worker owns this key yet, retry"}, status=503)
    if owner.rstrip("/") == str(app.conf.canonical_url).rstrip("/") or request.headers.get(
        ROUTED_HEADER
    ):
        value = table.get(key)
        if value is None:
            return view.json({"error": f"{key} not found"}, status=404)
        return view.json(render(value))
    timeout = aiohttp.ClientTimeout(total=5)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(
                f"{owner.rstrip('/')}{request.path}", headers={ROUTED_HEADER: "1"}
            ) as reply,
        ):
            body = await reply.read()
    except (aiohttp.ClientError, TimeoutError):  # the owner died or hangs: until a rebalance
        return view.json(
            {"error": f"the worker that owns {key} does not answer, retry"},
            status=503,
            headers={"Retry-After": "1"},
        )
    return view.bytes(body, content_type="application/json", status=reply.status)


@app.page("/orders/{order_id}")
class OrderView(View):
    """The saga state of one order."""

    async def get(self, request: Request, order_id: str) -> Response:
        """Status, lines, payment and reason of the order, or 404."""
        return await answer_from_owner(self, request, orders, order_id, lambda s: s.view())


@app.page("/inventory/{sku}")
class StockView(View):
    """The stock level of one sku."""

    async def get(self, request: Request, sku: str) -> Response:
        """On hand, reserved and available quantity of the sku, or 404."""
        return await answer_from_owner(
            self,
            request,
            stock,
            sku,
            lambda level: {**level.__json__(), "available": level.available},
        )
