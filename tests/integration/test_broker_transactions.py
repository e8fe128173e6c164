"""Integration tests: transactions and lifecycle of a real embedded Kafka broker."""

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import NewTopic

from ecommerce_streams.harness.kafka import BrokerError, EmbeddedKafka, free_port
from ecommerce_streams.harness.kafka.environment import default_home
from ecommerce_streams.harness.kafka.ports import port_is_free
from ecommerce_streams.harness.kafka.versions import kafka_version_from_env
from ecommerce_streams.kafka_admin import admin_client

pytestmark = pytest.mark.integration

SHARED_JAR_CACHE = default_home() / "dist"
READ_TIMEOUT_SECONDS = 30.0


def new_broker(home: Path) -> EmbeddedKafka:
    """Return an EmbeddedKafka on free ports with run state under home and shared jars."""
    return EmbeddedKafka(
        version=kafka_version_from_env(),
        port=free_port(),
        controller_port=free_port(),
        home=home,
        dist_dir=SHARED_JAR_CACHE,
    )


def unique(name: str) -> str:
    """Return a topic or group name that no other test uses."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


async def create_topics(bootstrap: str, *names: str) -> None:
    """Create single-partition topics."""
    async with admin_client(bootstrap) as admin:
        await admin.create_topics([NewTopic(name, 1, 1) for name in names])


async def read_values(
    bootstrap: str, topic: str, expected: int, isolation_level: str = "read_committed"
) -> list[bytes]:
    """Read a topic from the beginning until `expected` records arrived or the timeout."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level=isolation_level,
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        deadline = time.monotonic() + READ_TIMEOUT_SECONDS
        while len(values) < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            values.extend(record.value for records in batches.values() for record in records)
    finally:
        await consumer.stop()
    return values


async def committed_offset(
    bootstrap: str, group: str, partition: TopicPartition, expected: int
) -> int | None:
    """Return the group's committed offset, waiting for transaction markers to land."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        deadline = time.monotonic() + READ_TIMEOUT_SECONDS
        offset = await consumer.committed(partition)
        while offset != expected and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            offset = await consumer.committed(partition)
    finally:
        await consumer.stop()
    return offset


async def read_all_values(bootstrap: str, topic: str, isolation_level: str) -> list[bytes]:
    """Read everything a consumer with the isolation level can see up to the end offset."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level=isolation_level,
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        partition = TopicPartition(topic, 0)
        end = (await consumer.end_offsets([partition]))[partition]
        deadline = time.monotonic() + READ_TIMEOUT_SECONDS
        while await consumer.position(partition) < end and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            values.extend(record.value for records in batches.values() for record in records)
    finally:
        await consumer.stop()
    return values


async def test_consume_transform_produce_commits_output_and_offsets_together(kafka):
    source, sink, group = unique("orders"), unique("orders-upper"), unique("uppercaser")
    await create_topics(kafka.bootstrap, source, sink)
    async with AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all") as plain:
        for value in (b"apple", b"banana", b"cherry"):
            await plain.send_and_wait(source, value)

    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=kafka.bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap, transactional_id=unique("uppercaser-txn"), acks="all"
    )
    await consumer.start()
    await producer.start()
    try:
        consumed = []
        deadline = time.monotonic() + READ_TIMEOUT_SECONDS
        while len(consumed) < 3 and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            consumed.extend(record for records in batches.values() for record in records)
        assert [record.value for record in consumed] == [b"apple", b"banana", b"cherry"]
        async with producer.transaction():
            for record in consumed:
                await producer.send(sink, record.value.upper())
            partition = TopicPartition(source, 0)
            await producer.send_offsets_to_transaction({partition: consumed[-1].offset + 1}, group)
    finally:
        await producer.stop()
        await consumer.stop()

    assert await read_values(kafka.bootstrap, sink, 3) == [b"APPLE", b"BANANA", b"CHERRY"]
    assert await committed_offset(kafka.bootstrap, group, TopicPartition(source, 0), 3) == 3


async def test_aborted_transaction_is_invisible_to_read_committed(kafka):
    topic = unique("payments")
    await create_topics(kafka.bootstrap, topic)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap, transactional_id=unique("payments-txn"), acks="all"
    )
    await producer.start()
    try:
        await producer.begin_transaction()
        await producer.send_and_wait(topic, b"aborted")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send_and_wait(topic, b"committed")
    finally:
        await producer.stop()

    assert await read_all_values(kafka.bootstrap, topic, "read_committed") == [b"committed"]
    assert await read_all_values(kafka.bootstrap, topic, "read_uncommitted") == [
        b"aborted",
        b"committed",
    ]


async def test_open_transaction_is_invisible_until_committed(kafka):
    topic = unique("inventory")
    await create_topics(kafka.bootstrap, topic)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap, transactional_id=unique("inventory-txn"), acks="all"
    )
    await producer.start()
    try:
        await producer.begin_transaction()
        await producer.send_and_wait(topic, b"pending")
        assert await read_all_values(kafka.bootstrap, topic, "read_committed") == []
        await producer.commit_transaction()
    finally:
        await producer.stop()
    assert await read_values(kafka.bootstrap, topic, 1) == [b"pending"]


def test_start_is_idempotent_survives_a_crash_and_stop_leaves_no_process(tmp_path):
    broker = new_broker(tmp_path)
    try:
        bootstrap = broker.start()
        first_pid = broker.status()["pid"]
        assert bootstrap == f"127.0.0.1:{broker.port}"
        assert broker.start() == bootstrap
        assert broker.status()["pid"] == first_pid

        broker.kill()
        assert not Path(f"/proc/{first_pid}").exists()
        assert broker.status()["running"] is False
        assert broker.start() == bootstrap
        second_pid = broker.status()["pid"]
        assert second_pid != first_pid
    finally:
        stopped = broker.stop()
    assert stopped is True
    assert not Path(f"/proc/{second_pid}").exists()
    assert not broker.pid_file.exists()
    assert broker.status()["running"] is False
    assert port_is_free(broker.port) and port_is_free(broker.controller_port)
    assert broker.stop() is False


def test_reset_deletes_the_data_so_the_next_start_formats_a_new_cluster(tmp_path):
    broker = new_broker(tmp_path)
    try:
        broker.start()
        first_meta = (broker.data_dir / "meta.properties").read_text()
        broker.reset()
        assert not broker.data_dir.exists()
        broker.start()
        second_meta = (broker.data_dir / "meta.properties").read_text()
    finally:
        broker.stop()
    assert first_meta != second_meta


def test_broker_that_dies_at_start_reports_the_end_of_its_log(tmp_path):
    broker = new_broker(tmp_path)
    broker.heap = "1k"
    with pytest.raises(BrokerError) as raised:
        broker.start()
    message = str(raised.value)
    assert "died at start" in message
    assert "heap" in message.lower()
    assert broker.status()["running"] is False
    assert not broker.pid_file.exists()
