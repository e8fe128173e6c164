"""Create the deployment's topics, all with one partition count (co-partitioning)."""

import asyncio
import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from ecommerce_streams.topic_names import TopicNames


async def ensure_topics(
    bootstrap: str, names: TopicNames, *, partitions: int, replication: int = 1
) -> list[str]:
    """Create every missing topic; return the names created.

    Raises ValueError if an existing topic has another partition count: the orders
    agent relies on orders, payments and inventory-results being co-partitioned.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    await admin.start()
    try:
        existing = await _partition_counts(admin, names.all())
        wrong = {t: n for t, n in existing.items() if n != partitions}
        if wrong:
            raise ValueError(
                f"topics {sorted(wrong)} have {sorted(set(wrong.values()))} partitions, "
                f"expected {partitions}: co-partitioned topics must match (ES_PARTITIONS)"
            )
        missing = [t for t in names.all() if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(t, partitions, replication) for t in missing],
                    timeout_ms=30_000,
                )
        return missing
    finally:
        await admin.close()


async def _partition_counts(admin: AIOKafkaAdminClient, topics: tuple[str, ...]) -> dict[str, int]:
    listed = set(await admin.list_topics())
    present = [t for t in topics if t in listed]
    if not present:
        return {}
    described = await admin.describe_topics(present)
    return {d["topic"]: len(d["partitions"]) for d in described}


def ensure_topics_sync(
    bootstrap: str, names: TopicNames, *, partitions: int, replication: int = 1
) -> list[str]:
    """Blocking form of :func:`ensure_topics` for the command line."""
    return asyncio.run(
        ensure_topics(bootstrap, names, partitions=partitions, replication=replication)
    )
