"""Wait until a consumer group has caught up with its input topics (no work left queued).

An order is decided long before every agent is done with it: the inventory agent still
commits or releases its stock, and two agents read every order event. A phase that
follows a backlog must wait for that tail of work, or it measures the backlog instead.

Caught up means: for every partition, the group's committed offset is at most one
behind the end offset a read_committed consumer sees. The one is the commit marker a
transaction leaves after its last record, which no consumer ever commits past.
"""

import asyncio
import time
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

POLL_SECONDS = 0.5
MARKER_SLACK = 1


async def wait_caught_up(
    bootstrap: str, group: str, topics: Sequence[str], timeout: float = 300.0
) -> float | None:
    """Poll until ``group`` has caught up on ``topics``; the wall time it did, None on timeout."""
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
        while time.monotonic() < deadline:
            committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
            end = await ends.end_offsets(partitions)
            behind = [
                tp
                for tp in partitions
                if end[tp] - (committed[tp].offset if tp in committed else 0) > MARKER_SLACK
            ]
            if not behind:
                return time.time()
            await asyncio.sleep(POLL_SECONDS)
        return None
    finally:
        await ends.stop()
        await admin.close()
