"""Which transactions of removed workers a worker adopts (gap 18), decided without a broker."""

from ecommerce_streams.exactly_once.orphans import ABORTED, client_id, orphans, worker_of_client


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
