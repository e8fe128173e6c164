"""Who adopts which removed workers' transactions, and when adopting stops (gap 18); no broker."""

import asyncio

from ecommerce_streams.exactly_once.orphans import ABORTED, client_id, orphans, worker_of_client
from ecommerce_streams.exactly_once.transactions import SourceTransactionManager
from tests.unit.exactly_once_app import exactly_once_app


def test_a_workers_client_id_names_the_worker() -> None:
    assert worker_of_client(client_id("vm-1-6066")) == "vm-1-6066"
    assert worker_of_client("faust-0.15.3") is None


def test_the_first_worker_by_name_adopts_the_ids_of_workers_not_in_the_group() -> None:
    listed = {
        "shop-worker-a": "Ongoing",
        "shop-worker-b": "CompleteCommit",
        "shop-worker-gone": "CompleteCommit",
        "shop-v2-worker-other": "Ongoing",
        "shop-orders-0": "Ongoing",
    }
    assert orphans("shop", listed, ["b", "a"], me="a") == ["shop-worker-gone"]
    assert orphans("shop", listed, ["b", "a"], me="b") == []


def test_an_id_adopted_and_still_aborted_is_not_adopted_again() -> None:
    gone = "shop-worker-gone"
    assert orphans("shop", {gone: ABORTED}, ["a"], me="a", adopted=[gone]) == []
    assert orphans("shop", {gone: "Ongoing"}, ["a"], me="a", adopted=[gone]) == [gone]
    assert orphans("shop", {gone: ABORTED}, ["a"], me="a") == [gone]


def test_a_worker_the_group_does_not_list_adopts_nothing() -> None:
    assert orphans("shop", {"shop-worker-gone": "Ongoing"}, [], me="a") == []
    assert orphans("shop", {"shop-worker-gone": "Ongoing"}, ["b"], me="a") == []


async def test_a_stopping_worker_stops_adopting_removed_workers_transactions() -> None:
    manager = exactly_once_app("adoption-stop").consumer.transactions
    assert isinstance(manager, SourceTransactionManager)
    adoption = asyncio.ensure_future(asyncio.sleep(3600))
    manager._adoption = adoption
    await manager.on_stop()
    await asyncio.sleep(0)
    assert adoption.cancelled()
