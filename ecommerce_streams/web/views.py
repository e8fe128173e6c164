"""Table views: ``GET /orders/{order_id}`` and ``GET /inventory/{sku}`` from any worker.

A key lives in the partition its *source topic* put it in: murmur2 of the raw key
bytes, as every Kafka producer computes it. Faust's ``table_route`` hashes the
table's serialized key instead (faust-streaming #187, #514), which differs for JSON
keys, so routing is done here: find the worker that owns the key's changelog
partition and answer locally or forward the request to it.

The guard has checked the key (an identifier), and the forwarded URL is built from it
with every character that could change a path encoded, so nothing but the owner's
same view can answer. Ownership alone decides who answers: a worker answers from its
table only for keys it owns. ``X-ES-Routed`` marks a forwarded request only to stop
a second hop while two workers disagree about the owner (a rebalance): such a request
gets a 503 to retry, so a client sending the header can never get a 404 for a key
that exists.
"""

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import aiohttp
from faust.types import TP, TableT
from faust.web import Request, Response, View
from yarl import URL

from ecommerce_streams.partitioning import partition_of as partition_of_key
from ecommerce_streams.web.guard import REQUEST_ID, SHOP_DATA, served
from ecommerce_streams.web.problems import PASSED_HEADERS, REQUEST_ID_HEADER, Problem
from ecommerce_streams.worker.app import app, settings
from tables.orders import orders
from tables.stock import stock

ROUTED_HEADER = "X-ES-Routed"
FORWARDED_HEADERS = ("Authorization",)
"""Client headers the owner needs to check the request again."""


def partition_of(key: str, partitions: int = settings.partitions) -> int:
    """The partition a producer puts ``key`` in (Kafka's default murmur2 partitioner)."""
    return partition_of_key(key.encode(), partitions)


def owner_of(table: TableT[Any, Any], key: str) -> str | None:
    """URL of the worker that owns ``key`` in ``table``, or None while unassigned."""
    changelog = table.changelog_topic.get_topic_name()
    assignor: Any = app.assignor  # Faust's PartitionAssignor: its URL map is not in the type
    owner: str | None = assignor._tps_url.get(TP(changelog, partition_of(key)))
    return owner


def view_url(owner: str, page: str, key: str) -> URL:
    """The owner's URL of ``/{page}/{key}``: the key is one path segment, dots included."""
    segment = quote(key, safe="").replace(".", "%2E")
    return URL(f"{owner.rstrip('/')}/{page}/{segment}", encoded=True)


async def answer_from_owner(
    view: View,
    request: Request,
    table: TableT[Any, Any],
    page: str,
    key: str,
    render: Callable[[Any], Any],
) -> Response:
    """Answer from the local table if this worker owns the key, else from its owner."""
    owner = owner_of(table, key)
    if owner is None:
        raise _retry("no-owner", "No owner yet", "no worker owns this key yet")
    if owner.rstrip("/") == str(app.conf.canonical_url).rstrip("/"):
        value = table.get(key)
        if value is None:
            raise Problem(404, "not-found", "Not found", f"{key} is not known")
        return view.json(render(value))
    if ROUTED_HEADER in request.headers:
        raise _retry(
            "owner-moving",
            "Ownership is moving",
            "another worker forwarded this request here, but this worker does not own the key",
        )
    return await forward(view, request, view_url(owner, page, key), key)


async def forward(view: View, request: Request, url: URL, key: str) -> Response:
    """The owner's answer to the same request, or a 503 if it does not answer."""
    headers = {ROUTED_HEADER: "1", REQUEST_ID_HEADER: served(request)[REQUEST_ID]}
    headers.update(
        {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
    )
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
            session.get(url, headers=headers, allow_redirects=False) as reply,
        ):
            body = await reply.read()
    except (aiohttp.ClientError, TimeoutError):  # the owner died or hangs: until a rebalance
        raise _retry(
            "owner-unavailable", "Owner unavailable", f"the worker that owns {key} does not answer"
        ) from None
    relayed = {name: reply.headers[name] for name in PASSED_HEADERS if name in reply.headers}
    relayed["Content-Type"] = reply.headers.get("Content-Type", "application/json")
    return view.bytes(body, status=reply.status, headers=relayed)


def _retry(kind: str, title: str, detail: str) -> Problem:
    return Problem(503, kind, title, f"{detail}; retry", headers={"Retry-After": "1"})


@app.endpoint("/orders/{order_id}", SHOP_DATA)
class OrderView(View):
    """The saga state of one order."""

    async def get(self, request: Request, order_id: str) -> Response:
        """Status, lines, payment and reason of the order, or 404."""
        return await answer_from_owner(
            self, request, orders, "orders", order_id, lambda state: state.view()
        )


@app.endpoint("/inventory/{sku}", SHOP_DATA)
class StockView(View):
    """The stock level of one sku."""

    async def get(self, request: Request, sku: str) -> Response:
        """On hand, reserved and available quantity of the sku, or 404."""
        return await answer_from_owner(
            self,
            request,
            stock,
            "inventory",
            sku,
            lambda level: {**level.__json__(), "available": level.available},
        )
