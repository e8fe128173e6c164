"""Integration tests: what a consumer knows of the input it has not handed on yet."""

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import NewTopic

from ecommerce_streams.exactly_once.consumer import records_waiting
from ecommerce_streams.kafka_admin import admin_client

pytestmark = pytest.mark.integration


async def consumer_of(broker: str, topic: str) -> AIOKafkaConsumer:
    """A started read_committed consumer of ``topic`` from its beginning."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=broker,
        group_id=f"backlog-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    return consumer


async def new_topic(broker: str) -> str:
    """A one-partition topic no other test uses."""
    topic = f"backlog-{uuid.uuid4().hex[:8]}"
    async with admin_client(broker) as admin:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    return topic


async def test_a_backlog_waits_until_every_record_was_handed_on(broker: str) -> None:
    topic = await new_topic(broker)
    producer = AIOKafkaProducer(bootstrap_servers=broker)
    await producer.start()
    try:
        for n in range(200):
            await producer.send(topic, str(n).encode())
        await producer.flush()
    finally:
        await producer.stop()
    consumer = await consumer_of(broker, topic)
    try:
        handed_on = 0
        while handed_on == 0:
            batches = await consumer.getmany(timeout_ms=2000, max_records=20)
            handed_on += sum(len(records) for records in batches.values())
        assert records_waiting(consumer, {topic})
        assert not records_waiting(consumer, {"another-topic"})
        while handed_on < 200:
            batches = await consumer.getmany(timeout_ms=2000, max_records=100)
            handed_on += sum(len(records) for records in batches.values())
        assert not records_waiting(consumer, {topic})
    finally:
        await consumer.stop()


async def test_commit_markers_behind_the_last_record_are_not_input(broker: str) -> None:
    topic = await new_topic(broker)
    producer = AIOKafkaProducer(bootstrap_servers=broker, transactional_id=topic)
    await producer.start()
    try:
        for n in range(3):  # three transactions: a record and a commit marker each
            async with producer.transaction():
                await producer.send(topic, str(n).encode())
    finally:
        await producer.stop()
    consumer = await consumer_of(broker, topic)
    try:
        handed_on = 0
        while handed_on < 3:
            batches = await consumer.getmany(timeout_ms=2000)
            handed_on += sum(len(records) for records in batches.values())
        assert not records_waiting(consumer, {topic})
    finally:
        await consumer.stop()
