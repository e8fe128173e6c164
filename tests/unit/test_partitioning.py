"""Keys land where Kafka's default partitioner puts them, whichever client wrote them."""

import pytest
from aiokafka.partitioner import DefaultPartitioner

from ecommerce_streams.partitioning import key_hash, partition_for_key, partition_of
from ecommerce_streams.worker.app import app

KEYS = [b"ord-1", b"SKU-0042", b"cust-7", b"", "ordér-ü".encode(), bytes(range(256))]


@pytest.mark.parametrize("key", KEYS)
def test_a_keyed_record_goes_where_aiokafkas_default_partitioner_sends_it(key: bytes) -> None:
    partitions = [0, 1, 2, 3, 4, 5, 6, 7]
    expected = DefaultPartitioner()(key, partitions, partitions)
    assert partition_for_key(key, partitions, partitions) == expected
    assert partition_for_key(key, partitions, partitions) == expected  # from the kept hash
    assert partition_of(key, len(partitions)) == expected


def test_a_record_without_a_key_goes_to_an_available_partition() -> None:
    assert partition_for_key(None, [0, 1, 2, 3], [2]) == 2


def test_a_key_is_hashed_once_however_often_it_is_sent() -> None:
    key_hash.cache_clear()
    for _ in range(5):
        partition_of(b"ord-hashed-once", 4)
    assert key_hash.cache_info().misses == 1


def test_the_workers_producers_partition_with_kept_hashes() -> None:
    assert app.producer._settings_default()["partitioner"] is partition_for_key
