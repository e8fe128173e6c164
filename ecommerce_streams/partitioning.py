"""Where a key belongs: Kafka's default partitioner (murmur2), as Java clients and aiokafka use."""

import functools
from collections.abc import Sequence

from aiokafka.partitioner import DefaultPartitioner, murmur2


@functools.lru_cache(maxsize=1 << 16)
def key_hash(key: bytes) -> int:
    """Kafka's murmur2 hash of a key as a partitioner uses it, kept for recent keys.

    aiokafka hashes in pure Python, 1.7 % of a worker's CPU when every record paid it;
    an order's or a sku's key comes back at every hop of its saga.
    """
    return int(murmur2(key) & 0x7FFFFFFF)


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner puts ``key`` in among ``partitions``."""
    return key_hash(key) % partitions


def partition_for_key(
    key: bytes | None, all_partitions: Sequence[int], available: list[int]
) -> int:
    """aiokafka's default partitioner with kept hashes (the producers' ``partitioner``)."""
    if key is None:
        return int(DefaultPartitioner()(key, all_partitions, available))
    return all_partitions[key_hash(key) % len(all_partitions)]
