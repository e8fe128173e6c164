"""Create the deployment's topics: event topics with one partition count, compacted controls."""

import asyncio
import contextlib
from collections.abc import Iterable, Mapping, Sequence

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from ecommerce_streams.kafka_admin import admin_client
from ecommerce_streams.topic_names import TopicNames

COMPACTED = {"cleanup.policy": "compact"}
CONTROL_PARTITIONS = 1
"""Partitions of a control topic: a catalogue is small, and one partition orders its changes."""


async def ensure_topics(
    bootstrap: str,
    names: TopicNames,
    *,
    partitions: int,
    replication: int = 1,
    changelogs: Sequence[str] = (),
) -> list[str]:
    """Create every missing topic (table changelogs and controls compacted); return those created.

    Raises ValueError if an existing event topic or changelog has another partition count:
    the orders agent relies on orders, payments and inventory-results being co-partitioned,
    and a table's changelog partition is the partition of the event that wrote it.
    Creating changelogs here, before Faust starts, also spares a first worker the
    moment where Faust's own just-created changelogs show 0 partitions. The control
    topics (:meth:`TopicNames.controls`) have :data:`CONTROL_PARTITIONS` and any count is
    accepted: they are read whole, never co-partitioned.
    """
    wanted: dict[str, Mapping[str, str]] = {name: {} for name in names.all()}
    wanted.update((name, COMPACTED) for name in changelogs)
    async with admin_client(bootstrap, request_timeout_ms=30_000) as admin:
        existing = await partition_counts(admin, (*wanted, *names.controls()))
        wrong = {t: n for t, n in existing.items() if n != partitions and t in wanted}
        if wrong:
            raise ValueError(
                f"topics {sorted(wrong)} have {sorted(set(wrong.values()))} partitions, "
                f"expected {partitions}: co-partitioned topics must match (ES_PARTITIONS)"
            )
        missing = [
            NewTopic(t, partitions, replication, topic_configs=wanted[t])
            for t in wanted
            if t not in existing
        ]
        missing += _missing_controls(names, replication, set(existing))
        await _create(admin, missing)
        return [topic.name for topic in missing]


async def ensure_target_topics(
    bootstrap: str, topics: Iterable[str], *, partitions: int, replication: int = 1
) -> list[str]:
    """Create the missing Kafka topics routing targets name (any count of partitions is kept)."""
    wanted = tuple(dict.fromkeys(topics))
    if not wanted:
        return []
    async with admin_client(bootstrap, request_timeout_ms=30_000) as admin:
        listed = set(await admin.list_topics())
        missing = [NewTopic(t, partitions, replication) for t in wanted if t not in listed]
        await _create(admin, missing)
    return [topic.name for topic in missing]


async def ensure_control_topics(bootstrap: str, names: TopicNames, *, replication: int = 1) -> None:
    """Create the compacted control topics if missing (for tools that run without a worker)."""
    async with admin_client(bootstrap, request_timeout_ms=30_000) as admin:
        listed = set(await admin.list_topics())
        await _create(admin, _missing_controls(names, replication, listed))


def _missing_controls(names: TopicNames, replication: int, existing: set[str]) -> list[NewTopic]:
    return [
        NewTopic(t, CONTROL_PARTITIONS, replication, topic_configs=COMPACTED)
        for t in names.controls()
        if t not in existing
    ]


async def _create(admin: AIOKafkaAdminClient, topics: list[NewTopic]) -> None:
    if topics:
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(topics, timeout_ms=30_000)


async def partition_counts(admin: AIOKafkaAdminClient, topics: tuple[str, ...]) -> dict[str, int]:
    """The partition count of each of ``topics`` that exists."""
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
