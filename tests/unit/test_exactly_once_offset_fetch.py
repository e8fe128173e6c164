"""Committed offsets come only from a coordinator that has loaded them (repair ``loaded-offsets``).

After a broker restart a coordinator still loading ``__consumer_offsets`` answers
OffsetFetch with a group-level error and no partitions; aiokafka read that as "nothing
committed" and the worker sought every partition back to its first record. These give
aiokafka's own offset fetch the broker's answers (no broker, no network).
"""

import asyncio
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka import errors as kafka_errors
from aiokafka.consumer.group_coordinator import GroupCoordinator
from aiokafka.protocol.commit import OffsetFetchResponse_v3

from ecommerce_streams.exactly_once.offset_fetch import (
    LoadAwareCoordinator,
    heed_offset_fetch_errors,
)

ORDERS_0 = TopicPartition("orders", 0)
COORDINATOR_LOAD_IN_PROGRESS = 14
NOT_COORDINATOR = 16


class Answers:
    """A coordinator connection that gives the OffsetFetch answers it is handed, in order."""

    def __init__(self, *responses: Any) -> None:
        self.responses = list(responses)

    async def send(self, node_id: int, request: Any, group: Any = None) -> Any:
        return self.responses.pop(0)


def coordinator_of(klass: type[GroupCoordinator], *responses: Any) -> GroupCoordinator:
    """A group coordinator client that knows its coordinator and gets these answers."""
    coordinator = object.__new__(klass)
    coordinator._client = Answers(*responses)
    coordinator.coordinator_id = 1
    coordinator.group_id = "shop"
    coordinator._coordinator_dead_fut = asyncio.get_running_loop().create_future()
    return coordinator


def loading() -> OffsetFetchResponse_v3:
    """What a broker answers for a group whose offsets partition it is still loading."""
    return OffsetFetchResponse_v3(0, [], COORDINATOR_LOAD_IN_PROGRESS)


def committed_at(offset: int) -> OffsetFetchResponse_v3:
    """What a broker answers for a group that committed ``offset`` on orders-0."""
    return OffsetFetchResponse_v3(0, [("orders", [(0, offset, "", 0)])], 0)


async def test_aiokafka_alone_reads_a_loading_coordinators_answer_as_nothing_committed() -> None:
    # The gap; when an aiokafka upgrade fails this, the repair can go.
    assert (
        await coordinator_of(GroupCoordinator, loading())._do_fetch_commit_offsets([ORDERS_0]) == {}
    )


async def test_a_loading_coordinators_answer_is_a_retriable_error_not_an_empty_commit() -> None:
    coordinator = coordinator_of(LoadAwareCoordinator, loading())

    with pytest.raises(kafka_errors.GroupLoadInProgressError) as raised:
        await coordinator._do_fetch_commit_offsets([ORDERS_0])

    assert raised.value.retriable


async def test_the_offset_fetch_asked_again_once_loaded_finds_the_commit() -> None:
    coordinator = coordinator_of(LoadAwareCoordinator, loading(), committed_at(420))

    with pytest.raises(kafka_errors.GroupLoadInProgressError):
        await coordinator._do_fetch_commit_offsets([ORDERS_0])
    offsets = await coordinator._do_fetch_commit_offsets([ORDERS_0])

    assert offsets[ORDERS_0].offset == 420


async def test_a_group_error_from_a_former_coordinator_sends_the_client_looking() -> None:
    coordinator = coordinator_of(
        LoadAwareCoordinator, OffsetFetchResponse_v3(0, [], NOT_COORDINATOR)
    )

    with pytest.raises(kafka_errors.NotCoordinatorError):
        await coordinator._do_fetch_commit_offsets([ORDERS_0])

    assert coordinator.coordinator_id is None


async def test_a_consumers_group_coordinator_is_made_to_heed_group_errors() -> None:
    class StartedConsumer:
        _coordinator = coordinator_of(GroupCoordinator)

    heed_offset_fetch_errors(StartedConsumer)

    assert type(StartedConsumer._coordinator) is LoadAwareCoordinator
