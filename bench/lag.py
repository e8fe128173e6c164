"""Wait until a consumer group has caught up with its input topics (no work left queued).

An order is decided long before every agent is done with it: the inventory agent still
commits or releases its stock, and the order-outcomes agent reads every order event. A phase that
follows a backlog must wait for that tail of work, or it measures the backlog instead.

Caught up means: the group's committed offsets and the topics' end offsets (as a
read_committed consumer sees them) stay the same for a quiet period, and no partition
is behind by more than its possible trailing markers (:func:`marker_slack`). A
transaction leaves a marker after its records in every partition it wrote, no consumer
ever commits past it, and under exactly-once each source partition has its own
transactional producer, which also aborts once in every output partition when it
starts fresh.
"""

import asyncio
import time
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


def marker_slack(partitions: int) -> int:
    """Markers a caught-up partition may still end with: trailing commits, start-up aborts.

    Up to one commit marker per source partition's producer, and one abort marker per
    producer that started fresh (each adds every output partition and aborts once, so
    that nothing an earlier epoch left behind is committed later).
    """
    return 2 * partitions + 1


POLL_SECONDS = 0.5
QUIET_SECONDS = 2.0


async def wait_caught_up(
    bootstrap: str,
    group: str,
    topics: Sequence[str],
    *,
    marker_slack: int,
    timeout: float = 300.0,
) -> float | None:
    """Poll until ``group`` has caught up on ``topics``; when it did (wall time), None on timeout.

    The time returned is when the offsets stopped moving, not when the quiet period ended.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    ends = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed")
    await admin.start()
    await ends.start()
    try:
        described = await admin.describe_topics(list(topics))
        partitions = [
            TopicPartition(topic["topic"], partition["partition"])
            for topic in described
            for partition in topic["partitions"]
        ]
        deadline = time.monotonic() + timeout
        previous: tuple[list[int], list[int]] | None = None
        still_since = time.time()
        while time.monotonic() < deadline:
            committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
            end = await ends.end_offsets(partitions)
            snapshot = (
                [committed[tp].offset if tp in committed else -1 for tp in partitions],
                [end[tp] for tp in partitions],
            )
            if snapshot != previous:
                previous, still_since = snapshot, time.time()
            behind = max(e - max(c, 0) for c, e in zip(*snapshot, strict=True))
            if behind <= marker_slack and time.time() - still_since >= QUIET_SECONDS:
                return still_since
            await asyncio.sleep(POLL_SECONDS)
        return None
    finally:
        await ends.stop()
        await admin.close()
