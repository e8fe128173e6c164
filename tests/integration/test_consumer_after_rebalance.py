"""Our consumer on a real broker: seeks, health checks and offset fetches a rebalance cannot break.

Each test drives a real aiokafka consumer, assigned by hand, through our Faust consumer
classes, as a worker's consumer thread would after a rebalance. Set
ES_TEST_EXACTLY_ONCE_REPAIRS=-loaded-offsets to see the offset fetch's test fail.
"""

import asyncio
import itertools
import os
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faust.types import TP

from ecommerce_streams.exactly_once import parse_repairs
from ecommerce_streams.exactly_once.consumer import GatedConsumer
from ecommerce_streams.exactly_once.gate import gate_of
from ecommerce_streams.exactly_once.offset_fetch import LoadAwareCoordinator
from ecommerce_streams.operations.topic_setup import ensure_topics
from ecommerce_streams.topic_names import TopicNames
from ecommerce_streams.worker.app import ShopApp

_app_ids = itertools.count()


@pytest.fixture
async def topic(broker: str) -> str:
    """A fresh two-partition orders topic with one record on partition 0."""
    names = TopicNames(prefix=f"consumer-edges-{uuid.uuid4().hex[:8]}.")
    await ensure_topics(broker, names, partitions=2)
    name = names.orders
    producer = AIOKafkaProducer(bootstrap_servers=broker)
    await producer.start()
    try:
        await producer.send_and_wait(name, b"placed", key=b"ord-1", partition=0)
    finally:
        await producer.stop()
    return name


@pytest.fixture
async def consumer(broker: str, topic: str) -> AsyncIterator[AIOKafkaConsumer]:
    """A started consumer that owns partition 0 only and has fetched from it."""
    kafka_consumer = AIOKafkaConsumer(bootstrap_servers=broker, auto_offset_reset="earliest")
    await kafka_consumer.start()
    kafka_consumer.assign([TopicPartition(topic, 0)])
    await kafka_consumer.getone()
    try:
        yield kafka_consumer
    finally:
        await kafka_consumer.stop()


def shop_consumer(broker: str, kafka_consumer: AIOKafkaConsumer) -> GatedConsumer:
    """Our consumer of a fresh app, its thread driving ``kafka_consumer``."""
    app = ShopApp(
        f"consumer-edges-{os.getpid()}-{next(_app_ids)}",
        broker=f"kafka://{broker}",
        processing_guarantee="exactly_once",
    )
    app.exactly_once_repairs = parse_repairs(os.environ.get("ES_TEST_EXACTLY_ONCE_REPAIRS", "all"))
    ours = app.consumer
    assert isinstance(ours, GatedConsumer)
    ours._thread._consumer = kafka_consumer
    ours._thread.time_started = time.monotonic()
    return ours


async def test_a_seek_on_a_partition_a_newer_rebalance_took_away_is_skipped(
    broker: str, topic: str, consumer: AIOKafkaConsumer
) -> None:
    ours = shop_consumer(broker, consumer)

    assert await ours._seek_if_assigned(TP(topic, 1), 5) is False
    assert await ours._seek_if_assigned(TP(topic, 0), 0) is True


async def test_slow_processing_check_skips_a_partition_waiting_for_its_position(
    broker: str, topic: str, consumer: AIOKafkaConsumer
) -> None:
    ours = shop_consumer(broker, consumer)
    partition = TopicPartition(topic, 0)
    state = consumer._fetcher._subscriptions.subscription.assignment.state_value(partition)
    reset = asyncio.create_task(consumer.seek_to_beginning(partition))
    await asyncio.sleep(0)  # the reset has begun: no position until it is fetched
    assert not state.has_valid_position

    ours._thread.verify_event_path(time.monotonic(), TP(topic, 0))  # must not raise
    await reset


async def test_a_workers_consumer_reads_committed_offsets_only_from_a_loaded_coordinator(
    broker: str, topic: str
) -> None:
    group = AIOKafkaConsumer(
        bootstrap_servers=broker, group_id=f"{topic}-group", enable_auto_commit=False
    )
    ours = shop_consumer(broker, group)
    ours._thread._create_consumer = lambda loop: group  # what the thread's start starts
    await ours._thread.on_start()
    try:
        partition = TopicPartition(topic, 0)
        group.assign([partition])
        await group.commit({partition: 1})

        assert type(group._coordinator) is LoadAwareCoordinator
        assert await group.committed(partition) == 1
    finally:
        await group.stop()


async def test_a_seek_to_committed_offsets_a_newer_rebalance_interrupts_is_made_again(
    broker: str, topic: str
) -> None:
    group = AIOKafkaConsumer(
        bootstrap_servers=broker, group_id=f"{topic}-group", enable_auto_commit=False
    )
    await group.start()
    try:
        first, second = TopicPartition(topic, 0), TopicPartition(topic, 1)
        group.assign([first, second])
        await group.commit({first: 1, second: 1})
        fetch_committed = group.committed

        async def committed_then_rebalanced(partition: TopicPartition) -> int | None:
            """The committed offset, fetched while a newer rebalance takes the partition away."""
            offset = await fetch_committed(partition)
            if len(group.assignment()) == 2:
                group.assign([{first, second}.difference([partition]).pop()])
            return offset

        group.committed = committed_then_rebalanced  # type: ignore[method-assign]
        ours = shop_consumer(broker, group)
        ours._thread.seek_to_committed = group.seek_to_committed  # in this loop, not a thread
        ours.in_transaction = True  # as in a worker process

        await ours.perform_seek()

        [kept] = group.assignment()
        assert gate_of(ours.app).poisoned is None
        assert await group.position(kept) == 1
    finally:
        await group.stop()
