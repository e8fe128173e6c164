"""What earlier epochs of a transactional id left open, aborted in every partition (gap 15)."""

import contextlib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiokafka import TopicPartition

from ecommerce_streams.exactly_once.group_fencing import ZombieFenced

RoutedTopics = Callable[[], Awaitable[Iterable[str]]]
"""What the app's router may write to besides its output topics (``app.routed_topics``)."""


async def output_topics_of(app: Any) -> list[str]:
    """Every topic the app's transactions may write events to: outputs and routed targets."""
    topics = list(getattr(app, "output_topics", ()))
    routed: RoutedTopics | None = getattr(app, "routed_topics", None)
    if routed is not None:
        topics += [topic for topic in await routed() if topic not in topics]
    return topics


async def partitions_written(
    app: Any, producer: Any, one_partition: int | None
) -> list[TopicPartition]:
    """Every partition a transactional id may write to: the app's output topics, the Kafka
    topics its router delivers to, and its changelogs (only ``one_partition`` of those if set).
    """
    found = [
        TopicPartition(topic, number)
        for topic in await output_topics_of(app)
        for number in await producer.partitions_for(topic)
    ]
    for table in app.tables.values():
        changelog = table.changelog_topic.get_topic_name()
        for number in await producer.partitions_for(changelog):
            if one_partition in (None, number):
                found.append(TopicPartition(changelog, number))
    return found


async def abort_everywhere(
    group: str, producer: Any, written: list[TopicPartition], *, join_group: bool
) -> None:
    """Abort what earlier epochs of the producer's id left open (gap 15) in ``written``.

    A broker that stops while a transaction is under way can lose the partitions
    that transaction added (its coordinator's state append fails as the broker
    resigns) while their records are already in the logs. The new owner's
    ``InitProducerId`` then aborts nothing there, and its first commit marker in such
    a partition commits the old records too (a read_committed consumer matches
    markers by producer id): effects of events whose offsets were never committed.
    So a fresh producer first adds every partition it may write to (``written``:
    :func:`partitions_written`) and aborts: its abort markers close whatever an earlier
    epoch left open. What an earlier epoch's *committed* transactions left open (gap 16)
    is committed again before (``leftovers.py``).

    A worker's producer (``worker-transactions``) may have written to any partition,
    and its offsets too: a broker that skipped an earlier epoch's markers (gap 16)
    leaves that epoch's offsets pending in the group, and every new owner's stable
    offset fetch waits for them forever. So its abort also joins ``group`` (``join_group``:
    an offset the abort then discards), and the marker reaches the group's offsets.
    """
    txn = producer._txn_manager
    for tp in written:
        txn.maybe_add_partition_to_txn(tp)
    if join_group and written:
        with contextlib.suppress(ZombieFenced):  # refused, but the group joined all the same
            await producer.send_offsets_to_transaction({written[0]: 0}, group)
    await producer.abort_transaction()
