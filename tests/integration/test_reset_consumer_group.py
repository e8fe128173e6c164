"""``reset`` moves a stopped group's source offsets, and refuses while the group has members."""

import asyncio
import time
from datetime import UTC, datetime

import pytest
from aiokafka import TopicPartition

from ecommerce_streams.harness.deployment import Deployment
from ecommerce_streams.harness.load import LoadProfile, send_load
from ecommerce_streams.operations.consumer_group import active_members, committed_offsets
from ecommerce_streams.operations.replay import consumed_topics
from tests.integration.operator import partition_ends, processed_everything, run_cli

pytestmark = pytest.mark.integration


async def until_group_is_empty(deployment: Deployment, timeout: float = 60.0) -> None:
    """Wait until the stopped workers have left the group."""
    deadline = time.monotonic() + timeout
    while await active_members(deployment.bootstrap, deployment.app_id):
        assert time.monotonic() < deadline, "workers never left the group"
        await asyncio.sleep(0.25)


def of_topics(offsets: dict[TopicPartition, int], topics: tuple[str, ...]) -> dict:
    """The offsets of some topics only."""
    return {tp: offset for tp, offset in offsets.items() if tp.topic in topics}


async def test_reset_refuses_while_workers_run_and_rewinds_the_group_once_they_stop(
    deployment: Deployment,
) -> None:
    [worker] = await deployment.start_workers(1)
    sources = deployment.topics.sources()
    await send_load(deployment.bootstrap, deployment.topics, LoadProfile(orders=20, seed=1))
    first_batch_ends = await partition_ends(deployment.bootstrap, sources)
    boundary = datetime.now(UTC)
    await send_load(deployment.bootstrap, deployment.topics, LoadProfile(orders=20, seed=2))
    await processed_everything(deployment)
    members = await active_members(deployment.bootstrap, deployment.app_id)
    before = await committed_offsets(deployment.bootstrap, deployment.app_id)

    refused = await run_cli(deployment.env(), "reset", "--to-earliest")

    assert refused[0] != 0
    assert "1 active member(s)" in refused[1]
    assert members[0].member_id in refused[1]
    assert await committed_offsets(deployment.bootstrap, deployment.app_id) == before

    worker.terminate()
    await until_group_is_empty(deployment)
    to_boundary = await run_cli(deployment.env(), "reset", "--to-datetime", boundary.isoformat())
    at_boundary = await committed_offsets(deployment.bootstrap, deployment.app_id)
    to_start = await run_cli(deployment.env(), "reset", "--to-earliest")
    at_start = await committed_offsets(deployment.bootstrap, deployment.app_id)

    assert to_boundary[0] == 0, to_boundary[1]
    assert of_topics(at_boundary, sources) == first_batch_ends
    assert "ecommerce-streams replay --version 2" in to_boundary[1]
    assert to_start[0] == 0, to_start[1]
    assert of_topics(at_start, sources) == dict.fromkeys(first_batch_ends, 0)
    internal = consumed_topics(deployment.topics)[len(sources) :]
    assert of_topics(at_start, internal) == of_topics(before, internal)
