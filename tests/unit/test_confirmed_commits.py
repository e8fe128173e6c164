"""Reading a commit's markers: how the reads go out (the leaders are stand-ins, no broker).

The confirmation against a real broker is in
``tests/integration/test_sealed_leftovers.py``; here, only the shape of its reads.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest
from aiokafka import TopicPartition

import ecommerce_streams.exactly_once.confirmed_commits as confirmed_commits
import ecommerce_streams.exactly_once.log_reading as log_reading
from ecommerce_streams.exactly_once.confirmed_commits import (
    MARKER_BATCH_BYTES,
    log_ends,
    unconfirmed,
)
from ecommerce_streams.exactly_once.log_reading import COMMIT, LoggedBatch, ReadRefused

PRODUCER_ID, EPOCH = 7, 2
LEADERS = {
    1: [TopicPartition("orders-changelog", 0), TopicPartition("shipments", 0)],
    2: [TopicPartition("orders-changelog", 1)],
}


async def current_leaders(
    client: Any, tps: Any, wait_seconds: float
) -> dict[int, list[TopicPartition]]:
    """The stand-in leaders of the partitions asked for."""
    wanted = set(tps)
    owners = {leader: [tp for tp in owned if tp in wanted] for leader, owned in LEADERS.items()}
    return {leader: owned for leader, owned in owners.items() if owned}


def leaders_that_read(
    monkeypatch: pytest.MonkeyPatch, on_read: Callable[[int, dict[str, Any]], Awaitable[None]]
) -> None:
    """Stand-in leaders: each read calls ``on_read`` with its node and options, then shows a
    marker of the commit in each of its partitions."""

    async def fetch_batches(
        client: Any,
        node: int,
        positions: Mapping[TopicPartition, int],
        found: dict[TopicPartition, list[LoggedBatch]],
        **options: Any,
    ) -> dict[TopicPartition, int]:
        await on_read(node, options)
        for tp, offset in positions.items():
            found[tp] = [LoggedBatch(offset, PRODUCER_ID, EPOCH, 0, COMMIT)]
        return {}

    monkeypatch.setattr(log_reading, "current_leaders", current_leaders)
    monkeypatch.setattr(confirmed_commits, "fetch_batches", fetch_batches)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Leaders that answer a read only once every leader was asked (with a marker of the
    commit in each partition); returns each read's leader and ``min_bytes``."""
    asked: list[tuple[int, int]] = []
    every_leader_asked = asyncio.Barrier(len(LEADERS))

    async def on_read(node: int, options: dict[str, Any]) -> None:
        asked.append((node, options["min_bytes"]))
        await every_leader_asked.wait()

    leaders_that_read(monkeypatch, on_read)
    return asked


class RestartingClient:
    """A client whose metadata refreshes are counted (the leaders restart under it)."""

    def __init__(self) -> None:
        self.refreshes = 0

    async def force_metadata_update(self) -> bool:
        self.refreshes += 1
        return True


@pytest.fixture
def restarting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Leaders whose first read (ListOffsets or Fetch) leader 2 refuses, as a restarting
    broker does (not leader), then answer with a marker of the commit; returns the nodes
    each read went to."""
    asked: list[int] = []

    async def answer(node: int, options: object = None) -> None:
        asked.append(node)
        if node == 2 and asked.count(2) == 1:
            raise ReadRefused("ListOffsets of orders-changelog[1] failed: 6")

    async def list_offsets(
        client: Any, node: int, tps: Any, isolation: int, since: int
    ) -> dict[TopicPartition, int]:
        await answer(node)
        return {tp: 10 for tp in tps}

    leaders_that_read(monkeypatch, answer)
    monkeypatch.setattr(confirmed_commits, "list_offsets", list_offsets)
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


async def test_where_the_logs_end_is_asked_again_of_a_leader_that_refused_while_restarting(
    restarting: list[int],
) -> None:
    client = RestartingClient()
    tps = [tp for owned in LEADERS.values() for tp in owned]

    ends = await asyncio.wait_for(log_ends(client, tps), timeout=5)

    assert ends == {tp: 10 for tp in tps}
    assert sorted(restarting) == [1, 2, 2]  # leader 1 once, leader 2 again after a refresh
    assert client.refreshes == 1


async def test_markers_are_read_again_from_a_leader_that_refused_while_restarting(
    restarting: list[int],
) -> None:
    client = RestartingClient()
    ends = {tp: 10 for owned in LEADERS.values() for tp in owned}

    missing = await asyncio.wait_for(unconfirmed(client, PRODUCER_ID, EPOCH, ends), timeout=5)

    assert missing == set()
    assert sorted(restarting) == [1, 2, 2]
    assert client.refreshes == 1
