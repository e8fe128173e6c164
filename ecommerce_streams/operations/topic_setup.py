"""Create the deployment's topics, all with one partition count (co-partitioning)."""

import asyncio
import contextlib
from collections.abc import Mapping, Sequence

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from ecommerce_streams.kafka_admin import admin_client
from ecommerce_streams.topic_names import TopicNames

COMPACTED = {"cleanup.policy": "compact"}


async def ensure_topics(
    bootstrap: str,
    names: TopicNames,
    *,
    partitions: int,
    replication: int = 1,
    changelogs: Sequence[str] = (),
) -> list[str]:
    """Create every missing topic (and compacted table changelog); return those created.

    Raises ValueError if an existing topic has another partition count: the orders
    agent relies on orders, payments and inventory-results being co-partitioned, and
    a table's changelog partition is the partition of the event that wrote it.
    Creating changelogs here, before Faust starts, also spares a first worker the
    moment where Faust's own just-created changelogs show 0 partitions.
    """
    wanted: dict[str, Mapping[str, str]] = {name: {} for name in names.all()}
    wanted.update((name, COMPACTED) for name in changelogs)
    async with admin_client(bootstrap, request_timeout_ms=30_000) as admin:
        existing = await _partition_counts(admin, tuple(wanted))
        wrong = {t: n for t, n in existing.items() if n != partitions}
        if wrong:
            raise ValueError(
                f"topics {sorted(wrong)} have {sorted(set(wrong.values()))} partitions, "
                f"expected {partitions}: co-partitioned topics must match (ES_PARTITIONS)"
            )
        missing = [t for t in wanted if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(t, partitions, replication, topic_configs=wanted[t])
                        for t in missing
                    ],
                    timeout_ms=30_000,
                )
        return missing


async def _partition_counts(admin: AIOKafkaAdminClient, topics: tuple[str, ...]) -> dict[str, int]:
    listed = set(await admin.list_topics())
    present = [t for t in topics if t in listed]
    if not present:
        return {}
    described = await admin.describe_topics(present)
    return {d["topic"]: len(d["partitions"]) for d in described}


def ensure_topics_sync(
    bootstrap: str,
    names: TopicNames,
    *,
    partitions: int,
    replication: int = 1,
    changelogs: Sequence[str] = (),
) -> list[str]:
    """Blocking form of :func:`ensure_topics` for the command line."""
    return asyncio.run(
        ensure_topics(
            bootstrap,
            names,
            partitions=partitions,
            replication=replication,
            changelogs=changelogs,
        )
    )
