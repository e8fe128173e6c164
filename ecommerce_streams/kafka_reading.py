"""The consumer every tool reads whole topics with: no group, read_committed, from the start."""

from aiokafka import AIOKafkaConsumer


def committed_reader(bootstrap: str) -> AIOKafkaConsumer:
    """A consumer (not started) of committed records only, in no group, from the earliest."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
    )
