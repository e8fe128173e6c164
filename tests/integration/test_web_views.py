"""Table views on two workers: any worker answers for any key, unknown keys are 404 JSON."""

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from ecommerce_streams.harness import Deployment, WorkerProcess
from ecommerce_streams.views import partition_of
from tests.web_client import get_json, poll, post_events
from tests.web_deployment import running
from tests.web_events import order_placed, stock_received, unique

pytestmark = pytest.mark.integration


@dataclass
class TwoWorkers:
    """One deployment with workers ``a`` and ``b`` sharing its partitions."""

    deployment: Deployment
    a: WorkerProcess
    b: WorkerProcess


@pytest.fixture(scope="module")
async def shop(broker: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TwoWorkers]:
    """Two ready workers for the whole module (starting workers is the slow part)."""
    async with running(broker, tmp_path_factory.mktemp("views"), workers=2) as (deployment, [a, b]):
        yield TwoWorkers(deployment, a, b)


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
    order_id = await post_until_owned_by(
        shop.b, shop.a, "orders", lambda key: order_placed(key, "SKU-VIEW"), "ord"
    )
    assert order_id  # owned by b, so a has to ask b

    order = await poll(f"{shop.a.url}/orders/{order_id}", lambda status, _: status == 200)

    assert order["order_id"] == order_id
    assert order["status"] == "pending"
    assert order["lines"] == [
        {"sku": "SKU-VIEW", "qty": 2, "unit_price": "9.50", "status": "awaiting"}
    ]
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


async def test_the_faust_table_dump_is_not_served(shop: TwoWorkers) -> None:
    async with aiohttp.ClientSession() as session:
        for path in ("/table/", "/table/orders", "/table/orders/anything"):
            async with session.get(f"{shop.a.url}{path}") as response:
                assert response.status == 404, path


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
