"""Which dedup entries the sweep deletes, and how it walks a partition in bounded turns."""

import itertools
import os
from collections.abc import Iterable
from pathlib import Path

from ecommerce_streams.exactly_once.local_state import FreshPartitionStore
from ecommerce_streams.worker.app import ShopApp
from tables.seen import expired_keys, next_slice

HORIZON = 100.0
_app_ids = itertools.count()


def partition_holding(
    tmp_path: Path, first_seen: Iterable[tuple[str, float]]
) -> FreshPartitionStore:
    """The store of a table like ``seen`` whose partition 0 holds these entries and an offset.

    They are written to the partition's files as a restore leaves them: encoded as the
    table encodes them, beside the offset of the changelog's last record.
    """
    app = ShopApp(
        f"seen-expiry-{os.getpid()}-{next(_app_ids)}",
        broker="kafka://127.0.0.1:9",
        store="fresh-rocksdb://",
        datadir=str(tmp_path),
    )
    store = app.Table("seen", key_type=str, value_type=float, partitions=1).data
    assert isinstance(store, FreshPartitionStore)
    db = store.rocksdb_options.open(store.partition_path(0))
    for key, value in first_seen:
        raw_key = app.serializers.dumps_key(str, key, serializer=store.key_serializer)
        db[raw_key] = app.serializers.dumps_value(float, value, serializer=store.value_serializer)
    db[store.offset_key] = b"7"
    db.close()
    return store


def test_an_entry_first_seen_before_the_horizon_is_expired() -> None:
    stored = [("orders/a", 40.0), ("orders/b", 160.0)]
    now = dict(stored)

    assert expired_keys(stored, now.get, HORIZON) == ["orders/a"]


def test_an_entry_written_again_in_the_open_transaction_is_kept() -> None:
    # the store still holds the old first-seen; the table reads this transaction's write
    stored = [("orders/a", 40.0)]

    assert expired_keys(stored, {"orders/a": 150.0}.get, HORIZON) == []


def test_an_entry_deleted_in_the_open_transaction_is_not_deleted_twice() -> None:
    # a lap of the sweep within one transaction finds it stored still, and gone in the table
    stored = [("orders/a", 40.0)]

    assert expired_keys(stored, {}.get, HORIZON) == []


def test_a_sweep_turn_takes_at_most_its_limit_and_names_where_the_next_starts() -> None:
    stored = [("orders/a", 1.0), ("orders/b", 2.0), ("orders/c", 3.0)]

    assert next_slice(stored, 2) == ([("orders/a", 1.0), ("orders/b", 2.0)], "orders/c")


def test_a_sweep_turn_that_reaches_the_end_starts_the_next_lap_at_the_beginning() -> None:
    assert next_slice([("orders/a", 1.0)], 2) == ([("orders/a", 1.0)], None)


def test_a_sweep_laps_a_rocksdb_partition_in_bounded_turns(tmp_path: Path) -> None:
    keys = [f"orders/{n:04}" for n in range(1000)]
    store = partition_holding(tmp_path, ((key, 1.0) for key in keys))
    resume_at: str | None = None
    turns: list[list[str]] = []
    while resume_at is not None or not turns:
        taken, resume_at = next_slice(store.items_from(0, resume_at), 300)
        turns.append([key for key, _ in taken])

    assert [len(turn) for turn in turns] == [300, 300, 300, 100]
    assert [key for turn in turns for key in turn] == keys


def test_a_partition_reads_back_decoded_in_key_order_without_its_changelog_offset(
    tmp_path: Path,
) -> None:
    stored = [("payments/é", 30.0), ('orders/"b"', 20.0), ("orders/a\\", 10.0)]
    store = partition_holding(tmp_path, stored)

    assert list(store.items_from(0)) == [stored[1], stored[2], stored[0]]


def test_a_partition_reads_on_from_a_stored_key_or_from_the_next_when_it_is_gone(
    tmp_path: Path,
) -> None:
    store = partition_holding(tmp_path, [("orders/a", 1.0), ("orders/c", 3.0), ("orders/é", 5.0)])

    assert list(store.items_from(0, "orders/é")) == [("orders/é", 5.0)]
    assert list(store.items_from(0, "orders/b")) == [("orders/c", 3.0), ("orders/é", 5.0)]
    assert list(store.items_from(0, "payments/a")) == []
