"""Table views on two workers: any worker answers for any key; errors are problem documents."""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

import aiohttp
import orjson
import pytest

from ecommerce_streams.harness.deployment import WorkerProcess
from ecommerce_streams.web.views import ROUTED_HEADER, partition_of
from tests.web_client import (
    eventually,
    exchange,
    get_json,
    poll,
    post_events,
    problem_of,
    raw_request,
)
from tests.web_deployment import TwoWorkers, two_workers
from tests.web_events import order_placed, stock_received, unique

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def shop(broker: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TwoWorkers]:
    """Two ready workers for the whole module (starting workers is the slow part)."""
    async with two_workers(broker, tmp_path_factory.mktemp("views")) as workers:
        yield workers


async def owned_partitions(worker: WorkerProcess, table: str) -> set[int]:
    """Partitions of ``table``'s changelog that ``worker`` serves, from its /ready page."""
    status, _, state = await get_json(f"{worker.url}/ready")
    assert status == 200, state
    return {
        partition
        for topic, partitions in state["partitions"].items()
        if topic.endswith(f"-{table}-changelog")
        for partition in partitions
    }


async def post_until_owned_by(
    worker: WorkerProcess,
    via: WorkerProcess,
    table: str,
    make: Callable[[str], dict[str, Any]],
    prefix: str,
) -> str:
    """POST events for fresh keys through ``via``; return a key in a partition ``worker`` owns."""
    owned = await owned_partitions(worker, table)
    keys = [unique(prefix) for _ in range(16)]
    status, _, body = await post_events(via.url, [make(key) for key in keys])
    assert status == 202, body
    for key, receipt in zip(keys, body["accepted"], strict=True):
        if receipt["partition"] in owned:
            return key
    raise AssertionError(f"none of 16 keys landed in {sorted(owned)}")


async def test_ready_lists_each_workers_partitions_and_together_they_cover_the_topic(
    shop: TwoWorkers,
) -> None:
    on_a = await owned_partitions(shop.a, "orders")
    on_b = await owned_partitions(shop.b, "orders")

    assert on_a and on_b
    assert on_a.isdisjoint(on_b)
    assert on_a | on_b == set(range(shop.deployment.partitions))


async def test_an_order_owned_by_worker_b_is_answered_correctly_through_worker_a(
    shop: TwoWorkers,
) -> None:
    # Stock first, so the order settles as pending with its line reserved (awaiting payment)
    # instead of racing a commit that rejects it for lack of stock.
    sku = unique("SKU-VIEW")
    status, _, body = await post_events(shop.a.url, stock_received(sku, qty=100))
    assert status == 202, body
    await poll(
        f"{shop.a.url}/inventory/{sku}",
        lambda status, level: status == 200 and level["on_hand"] == 100,
    )
    order_id = await post_until_owned_by(
        shop.b, shop.a, "orders", lambda key: order_placed(key, sku), "ord"
    )
    assert order_id  # owned by b, so a has to ask b

    order = await poll(
        f"{shop.a.url}/orders/{order_id}",
        lambda status, order: status == 200 and order["lines"][0]["status"] == "reserved",
    )

    assert order["order_id"] == order_id
    assert order["status"] == "pending"
    assert order["lines"] == [{"sku": sku, "qty": 2, "unit_price": "9.50", "status": "reserved"}]
    assert await get_json(f"{shop.b.url}/orders/{order_id}") == (200, "application/json", order)


async def test_stock_owned_by_worker_b_is_answered_correctly_through_worker_a(
    shop: TwoWorkers,
) -> None:
    sku = await post_until_owned_by(
        shop.b, shop.a, "stock", lambda key: stock_received(key, qty=7), "SKU"
    )

    level = await poll(f"{shop.a.url}/inventory/{sku}", lambda status, _: status == 200)

    assert level == {"sku": sku, "on_hand": 7, "reserved": 0, "available": 7}


@pytest.mark.parametrize(("page", "table"), [("orders", "orders"), ("inventory", "stock")])
async def test_an_unknown_key_is_a_404_problem_from_its_owner_or_through_it(
    shop: TwoWorkers, page: str, table: str
) -> None:
    on_a = await owned_partitions(shop.a, table)
    local = next(k for k in keys() if partition_of(k, shop.deployment.partitions) in on_a)
    remote = next(k for k in keys() if partition_of(k, shop.deployment.partitions) not in on_a)

    for key in (local, remote):
        status, content_type, body = await get_json(f"{shop.a.url}/{page}/{key}")

        assert (status, content_type) == (404, "application/problem+json")
        assert key in body["detail"]


async def send(
    worker: WorkerProcess, target: str, headers: Mapping[str, str] | None = None
) -> tuple[int, Mapping[str, str], bytes]:
    """GET ``target`` exactly as written (no client normalises it) from ``worker``."""
    return await asyncio.to_thread(exchange, worker.url, raw_request("GET", target, headers))


@pytest.mark.parametrize(
    "path",
    ["/table/", "/table/orders", "/router/", "/router/topics", "/router/orders/anything/", "/"],
)
async def test_faust_built_in_pages_are_not_served(shop: TwoWorkers, path: str) -> None:
    status, headers, body = await send(shop.a, path)

    assert status == 404
    problem_of(404, headers, body)


@pytest.mark.parametrize(
    "path", ["/orders/..%2Fmetrics", "/inventory/..%2Fhealth", "/orders/..%2F..%2Frouter%2F"]
)
async def test_an_id_that_decodes_to_a_path_is_a_400_not_another_endpoints_body(
    shop: TwoWorkers, path: str
) -> None:
    for worker in (shop.a, shop.b):
        status, headers, body = await send(worker, path)

        assert status == 400
        assert problem_of(400, headers, body)["type"].endswith(":invalid-identifier")


@pytest.mark.parametrize("suffix", ["%3Fx%3D1", "%23x", "%00", "%E2%80%AE"])
async def test_a_key_with_a_query_fragment_nul_or_bidi_suffix_is_a_400_not_the_keys_state(
    shop: TwoWorkers, suffix: str
) -> None:
    order_id = await post_until_owned_by(
        shop.b, shop.a, "orders", lambda key: order_placed(key, "SKU-VIEW"), "ord"
    )
    await poll(f"{shop.a.url}/orders/{order_id}", lambda status, _: status == 200)

    status, headers, body = await send(shop.a, f"/orders/{order_id}{suffix}")

    assert status == 400
    problem_of(400, headers, body)
    assert order_id.encode() not in body


async def test_a_client_sending_the_routing_header_never_gets_a_404_for_a_key_that_exists(
    shop: TwoWorkers,
) -> None:
    order_id = await post_until_owned_by(
        shop.b, shop.a, "orders", lambda key: order_placed(key, "SKU-VIEW"), "ord"
    )
    await poll(f"{shop.a.url}/orders/{order_id}", lambda status, _: status == 200)

    at_owner = await send(shop.b, f"/orders/{order_id}", {ROUTED_HEADER: "1"})
    elsewhere = await send(shop.a, f"/orders/{order_id}", {ROUTED_HEADER: "1"})

    assert at_owner[0] == 200
    assert orjson.loads(at_owner[2])["order_id"] == order_id
    assert elsewhere[0] == 503  # a forwarded request that missed the owner: retry, not 404
    assert problem_of(*elsewhere)["type"].endswith(":owner-moving")


async def test_the_key_dot_dot_is_a_key_through_either_worker(shop: TwoWorkers) -> None:
    status, _, _ = await post_events(shop.a.url, stock_received("..", qty=3))
    assert status == 202

    for worker in (shop.a, shop.b):  # one owns "..", the other forwards it
        _, _, body = await eventually(
            lambda worker=worker: send(worker, "/inventory/%2E%2E"),
            lambda answer: answer[0] == 200,
        )

        assert orjson.loads(body) == {"sku": "..", "on_hand": 3, "reserved": 0, "available": 3}


def keys() -> Iterator[str]:
    """Fresh keys nobody has written."""
    while True:
        yield unique("never-seen")


async def test_a_key_whose_owner_died_is_a_503_to_retry_not_a_server_error(
    shop: TwoWorkers,
) -> None:
    """Runs last in this module: it kills worker b."""
    order_id = await post_until_owned_by(
        shop.b, shop.a, "orders", lambda key: order_placed(key, "SKU-VIEW"), "ord"
    )
    shop.b.kill()  # the group notices only after the session timeout: a still routes to b

    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{shop.a.url}/orders/{order_id}") as response,
    ):
        assert (response.status, response.content_type) == (503, "application/problem+json")
        assert response.headers["Retry-After"] == "1"
