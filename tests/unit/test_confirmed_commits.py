"""Reading a commit's markers: how the reads go out (the leaders are stand-ins, no broker).

The confirmation against a real broker is in
``tests/integration/test_sealed_leftovers.py``; here, only the shape of its reads.
"""

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from aiokafka import TopicPartition

import ecommerce_streams.exactly_once.confirmed_commits as confirmed_commits
from ecommerce_streams.exactly_once.confirmed_commits import MARKER_BATCH_BYTES, unconfirmed
from ecommerce_streams.exactly_once.log_reading import COMMIT, LoggedBatch

PRODUCER_ID, EPOCH = 7, 2
LEADERS = {
    1: [TopicPartition("orders-changelog", 0), TopicPartition("shipments", 0)],
    2: [TopicPartition("orders-changelog", 1)],
}


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Leaders that answer a read only once every leader was asked (with a marker of the
    commit in each partition); returns each read's leader and ``min_bytes``."""
    asked: list[tuple[int, int]] = []
    every_leader_asked = asyncio.Barrier(len(LEADERS))

    async def current_leaders(
        client: Any, tps: Any, wait_seconds: float
    ) -> dict[int, list[TopicPartition]]:
        return {leader: [tp for tp in owned if tp in set(tps)] for leader, owned in LEADERS.items()}

    async def fetch_batches(
        client: Any,
        node: int,
        positions: Mapping[TopicPartition, int],
        found: dict[TopicPartition, list[LoggedBatch]],
        **options: Any,
    ) -> dict[TopicPartition, int]:
        asked.append((node, options["min_bytes"]))
        await every_leader_asked.wait()
        for tp, offset in positions.items():
            found[tp] = [LoggedBatch(offset, PRODUCER_ID, EPOCH, 0, COMMIT)]
        return {}

    monkeypatch.setattr(confirmed_commits, "current_leaders", current_leaders)
    monkeypatch.setattr(confirmed_commits, "fetch_batches", fetch_batches)
    return asked


async def test_the_markers_of_every_leader_are_read_at_once(reads: list[tuple[int, int]]) -> None:
    ends = {tp: 10 for owned in LEADERS.values() for tp in owned}

    missing = await asyncio.wait_for(unconfirmed(None, PRODUCER_ID, EPOCH, ends), timeout=5)

    assert missing == set()
    assert sorted(node for node, _ in reads) == [1, 2]


async def test_a_read_is_answered_once_each_of_its_partitions_can_hold_a_marker(
    reads: list[tuple[int, int]],
) -> None:
    ends = {tp: 10 for owned in LEADERS.values() for tp in owned}

    await asyncio.wait_for(unconfirmed(None, PRODUCER_ID, EPOCH, ends), timeout=5)

    assert dict(reads) == {1: 2 * MARKER_BATCH_BYTES, 2: MARKER_BATCH_BYTES}
