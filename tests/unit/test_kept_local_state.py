"""Whether a worker keeps its table files after a crash: only when they hold committed changes."""

import itertools
import os
from pathlib import Path

import faust.stores.memory
import faust.stores.rocksdb
import pytest

from ecommerce_streams.exactly_once import keeps_local_state, parse_repairs, written_recently
from ecommerce_streams.exactly_once.local_state import FreshPartitionStore
from ecommerce_streams.exactly_once.outbox import writes_once_committed
from ecommerce_streams.worker.app import ShopApp

_app_ids = itertools.count()


def shop_app(guarantee: str, repairs: str = "default", store: str = "fresh-rocksdb://") -> ShopApp:
    """An app as the worker configures it (RocksDB stores that defer writes), never started."""
    shop = ShopApp(
        f"kept-state-{os.getpid()}-{next(_app_ids)}",
        broker="kafka://127.0.0.1:9",
        processing_guarantee=guarantee,
        store=store,
    )
    shop.exactly_once_repairs = parse_repairs(repairs)
    return shop


def test_an_exactly_once_worker_keeps_its_files_and_still_runs_in_transactions() -> None:
    # Faust caches app.in_transaction, and it is False until the worker runs: the decision,
    # made before, must not read it, or the worker would run without transactions.
    shop = shop_app("exactly_once")
    assert keeps_local_state(shop)
    shop.in_worker = True
    assert shop.in_transaction


@pytest.mark.parametrize(
    "repairs", ["-kept-local-state", "-deferred-store-writes", "-write-cache", "none"]
)
def test_files_written_before_their_transaction_commits_are_not_kept(repairs: str) -> None:
    assert not keeps_local_state(shop_app("exactly_once", repairs))


@pytest.mark.parametrize("store", ["rocksdb://", "memory://"])
def test_a_store_that_writes_each_change_at_once_is_not_kept(store: str) -> None:
    assert not keeps_local_state(shop_app("exactly_once", store=store))


def test_an_at_least_once_worker_does_not_keep_files_for_exactly_once() -> None:
    assert not keeps_local_state(shop_app("at_least_once"))


def test_table_files_written_within_a_day_are_kept(tmp_path: Path) -> None:
    (tmp_path / "orders-0.db").mkdir()
    log = tmp_path / "orders-0.db" / "000008.log"
    log.write_bytes(b"x")
    now = log.stat().st_mtime + 3600
    assert written_recently(tmp_path, now)


def test_table_files_untouched_for_longer_than_tombstones_live_are_not_kept(
    tmp_path: Path,
) -> None:
    # A compacted changelog drops a deletion's tombstone after delete.retention.ms (24 h
    # by default): files older than that could keep a key the changelog has deleted.
    (tmp_path / "orders-0.db").mkdir()
    log = tmp_path / "orders-0.db" / "000008.log"
    log.write_bytes(b"x")
    now = log.stat().st_mtime + 25 * 3600
    assert not written_recently(tmp_path, now)
    assert not written_recently(tmp_path / "missing", now)


def test_only_our_store_is_handed_the_committed_changes_to_write() -> None:
    assert writes_once_committed(FreshPartitionStore)
    assert not writes_once_committed(faust.stores.rocksdb.Store)
    assert not writes_once_committed(faust.stores.memory.Store)
