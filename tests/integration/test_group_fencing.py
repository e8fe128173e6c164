"""One producer per worker on a real broker: the group fences zombies (KIP-447).

With ``worker-transactions`` a worker's transactions are not fenced by a successor
initialising the same transactional id; the consumer group does it. These tests drive
aiokafka producers and consumers with our group fencing against the run's broker, and
pin aiokafka's own requests, which fence nothing.
"""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from ecommerce_streams.exactly_once.group_fencing import (
    GroupMember,
    UnstableOffsetCommit,
    ZombieFenced,
    fence_by_group,
    join_group_fencing,
    member_of_consumer,
)
from ecommerce_streams.exactly_once.offset_fetch import heed_offset_fetch_errors
from ecommerce_streams.operations.topic_setup import ensure_topics
from ecommerce_streams.topic_names import TopicNames


@pytest.fixture
async def topic(broker: str) -> str:
    """A fresh two-partition orders topic."""
    names = TopicNames(prefix=f"group-fencing-{uuid.uuid4().hex[:8]}.")
    await ensure_topics(broker, names, partitions=2)
    return names.orders


async def joined(broker: str, topic: str, group_id: str) -> AIOKafkaConsumer:
    """A consumer of ``group_id`` that has joined the group and been assigned partitions."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=broker, group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()
    deadline = time.monotonic() + 30
    while not consumer.assignment():
        assert time.monotonic() < deadline, "the consumer never joined its group"
        await consumer.getmany(timeout_ms=200)
    return consumer


@pytest.fixture
async def transactional(broker: str) -> AsyncIterator[AIOKafkaProducer]:
    """A started transactional producer, in a transaction."""
    producer = AIOKafkaProducer(bootstrap_servers=broker, transactional_id=uuid.uuid4().hex)
    await producer.start()
    await producer.begin_transaction()
    try:
        yield producer
    finally:
        await producer.stop()


def fenced_as(producer: AIOKafkaProducer, member: GroupMember) -> None:
    """Let the producer commit offsets as ``member`` of the group."""
    worker = SimpleNamespace()
    join_group_fencing(worker, lambda: member)
    fence_by_group(producer, worker)


async def committed_once_settled(consumer: AIOKafkaConsumer, tp: TopicPartition) -> int | None:
    """The group's committed offset of ``tp`` once a committed transaction's markers have landed."""
    deadline = time.monotonic() + 15
    while True:
        offset = await consumer.committed(tp)
        if offset is not None or time.monotonic() > deadline:
            return offset
        await asyncio.sleep(0.1)


@pytest.fixture
async def left_behind(broker: str, topic: str) -> AsyncIterator[tuple[GroupMember, str]]:
    """A member its group has left behind (it left; a successor took its partitions)."""
    group_id = f"{topic}-group"
    zombie = await joined(broker, topic, group_id)
    member = member_of_consumer(zombie)()
    await zombie.stop()
    successor = await joined(broker, topic, group_id)
    try:
        yield member, group_id
    finally:
        await successor.stop()


async def test_a_member_the_group_has_left_behind_cannot_commit_offsets_in_a_transaction(
    topic: str, transactional: AIOKafkaProducer, left_behind: tuple[GroupMember, str]
) -> None:
    member, group_id = left_behind
    fenced_as(transactional, member)
    await transactional.send_and_wait(topic, b"effect", partition=1)

    with pytest.raises(ZombieFenced, match="the group has moved on"):
        await transactional.send_offsets_to_transaction({TopicPartition(topic, 0): 1}, group_id)


async def test_the_current_member_commits_offsets_in_a_transaction(
    broker: str, topic: str, transactional: AIOKafkaProducer
) -> None:
    group_id = f"{topic}-group"
    owner = await joined(broker, topic, group_id)
    try:
        fenced_as(transactional, member_of_consumer(owner)())
        await transactional.send_and_wait(topic, b"effect", partition=1)
        await transactional.send_offsets_to_transaction({TopicPartition(topic, 0): 1}, group_id)
        await transactional.commit_transaction()

        assert await committed_once_settled(owner, TopicPartition(topic, 0)) == 1
    finally:
        await owner.stop()


async def test_aiokafka_alone_commits_the_offsets_of_a_member_the_group_left_behind(
    broker: str, topic: str, transactional: AIOKafkaProducer, left_behind: tuple[GroupMember, str]
) -> None:
    """The gap group fencing closes: TxnOffsetCommit v0 names no member, so nothing refuses it."""
    _, group_id = left_behind
    await transactional.send_offsets_to_transaction({TopicPartition(topic, 0): 1}, group_id)
    await transactional.commit_transaction()

    owner = AIOKafkaConsumer(bootstrap_servers=broker, group_id=group_id, enable_auto_commit=False)
    await owner.start()
    try:
        assert await committed_once_settled(owner, TopicPartition(topic, 0)) == 1
    finally:
        await owner.stop()


async def stable_offsets_once_settled(consumer: AIOKafkaConsumer, tp: TopicPartition) -> object:
    """The offsets a stable fetch answers once no transaction holds them (markers land late)."""
    deadline = time.monotonic() + 15
    while True:
        try:
            return await consumer._coordinator._do_fetch_commit_offsets([tp])
        except UnstableOffsetCommit:
            assert time.monotonic() < deadline, "the offsets stayed unstable"
            await asyncio.sleep(0.1)


@pytest.fixture
async def owner(broker: str, topic: str) -> AsyncIterator[AIOKafkaConsumer]:
    """A started consumer of the topic's group, assigned partition 0 by hand, coordinator known."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=broker, group_id=f"{topic}-group", enable_auto_commit=False
    )
    await consumer.start()
    consumer.assign([TopicPartition(topic, 0)])
    await consumer._coordinator.ensure_coordinator_known()  # the fetches below ask it directly
    try:
        yield consumer
    finally:
        await consumer.stop()


async def test_a_new_owner_waits_for_the_offsets_an_open_transaction_holds(
    topic: str, transactional: AIOKafkaProducer, owner: AIOKafkaConsumer
) -> None:
    tp = TopicPartition(topic, 0)
    heed_offset_fetch_errors(owner, stable=True)
    await transactional.send_offsets_to_transaction({tp: 7}, f"{topic}-group")

    with pytest.raises(UnstableOffsetCommit):
        await owner._coordinator._do_fetch_commit_offsets([tp])

    await transactional.commit_transaction()
    offsets = await stable_offsets_once_settled(owner, tp)
    assert offsets[tp].offset == 7  # type: ignore[index]


async def test_aiokafka_alone_reads_past_the_offsets_an_open_transaction_holds(
    topic: str, transactional: AIOKafkaProducer, owner: AIOKafkaConsumer
) -> None:
    """The gap stable fetches close: the new owner would start before the pending offsets."""
    tp = TopicPartition(topic, 0)
    await transactional.send_offsets_to_transaction({tp: 7}, f"{topic}-group")

    assert await owner._coordinator._do_fetch_commit_offsets([tp]) == {}
