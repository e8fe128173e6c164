"""Where a key belongs: Kafka's default partitioner (murmur2), as Java clients and aiokafka use."""

from aiokafka.partitioner import murmur2


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner puts ``key`` in among ``partitions``."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions
