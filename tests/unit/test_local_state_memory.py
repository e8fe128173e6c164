"""A worker's memory is bounded: one RocksDB budget for every table partition, bounded polls."""

import itertools
import os
from pathlib import Path

from ecommerce_streams.exactly_once.local_state import FreshPartitionStore, SharedMemoryOptions
from ecommerce_streams.settings import Settings
from ecommerce_streams.worker.app import ShopApp, create_app

_app_ids = itertools.count()


def app_in(datadir: Path) -> ShopApp:
    """A fresh app whose tables live in ``datadir``."""
    return ShopApp(
        f"memory-test-{os.getpid()}-{next(_app_ids)}",
        broker="kafka://127.0.0.1:9",
        store="fresh-rocksdb://",
        datadir=str(datadir),
    )


def test_two_tables_of_a_worker_open_their_partitions_with_one_cache(tmp_path: Path) -> None:
    app = app_in(tmp_path)
    stores = [app.Table(name, partitions=2).data for name in ("orders", "stock")]

    options = [store.rocksdb_options for store in stores]
    assert all(isinstance(store, FreshPartitionStore) for store in stores)
    assert all(isinstance(option, SharedMemoryOptions) for option in options)
    assert options[0]._memory is options[1]._memory


def test_a_partition_opened_with_the_shared_budget_stores_and_reads(tmp_path: Path) -> None:
    app = app_in(tmp_path)
    store = app.Table("orders", partitions=2).data
    db = store.rocksdb_options.open(tmp_path / "orders-0.db")

    db[b"ord-1"] = b"placed"

    assert db[b"ord-1"] == b"placed"
    db.close()


def test_the_workers_consumer_polls_and_fetches_bounded_amounts() -> None:
    # A backlog in every partition made Faust's defaults (every fetched record at once,
    # 1 MiB per partition) hold 83,000 records as Python objects in one worker.
    settings = Settings(consumer_max_poll_records=123, consumer_max_fetch_bytes=65536)
    conf = create_app(settings).conf

    assert (conf.broker_max_poll_records, conf.consumer_max_fetch_size) == (123, 65536)
