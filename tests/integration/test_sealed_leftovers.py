"""Integration tests: what a committed transaction left open is committed by the next epoch.

A broker that skips a commit's markers in some partitions (gap 16) cannot be made to on
demand, so these tests build the same log with the broker's transaction verification
switched off for a moment: a transactional record in a partition the coordinator never
heard of, then a commit, leaves that record open after its transaction committed.
"""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from ecommerce_streams.exactly_once.leftovers import (
    GROUP_OFFSETS_TOPIC,
    CommitNotes,
    SourceOffset,
    group_offsets_partition,
    note_path,
    open_batches,
    seal_leftovers,
)
from ecommerce_streams.kafka_admin import admin_client

pytestmark = pytest.mark.integration

VERIFICATION = "transaction.partition.verification.enable"


def unique(name: str) -> str:
    """A topic, group or transactional id no other test uses."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


@asynccontextmanager
async def unverified_partitions(bootstrap: str) -> AsyncIterator[None]:
    """The broker appends transactional records without asking the coordinator meanwhile."""
    async with admin_client(bootstrap) as admin:
        await admin.alter_configs(
            [ConfigResource(ConfigResourceType.BROKER, "1", {VERIFICATION: "false"})]
        )
        await asyncio.sleep(0.5)  # dynamic configs apply asynchronously
        try:
            yield
        finally:
            await admin.alter_configs(
                [ConfigResource(ConfigResourceType.BROKER, "1", {VERIFICATION: "true"})]
            )


async def producer_of(bootstrap: str, transactional_id: str) -> AIOKafkaProducer:
    """A started transactional producer (its InitProducerId bumps the id's epoch)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=transactional_id)
    await producer.start()
    return producer


async def write_unknown_to_coordinator(
    producer: AIOKafkaProducer, tp: TopicPartition, value: bytes
) -> None:
    """Write a record of the producer's transaction to ``tp`` without AddPartitionsToTxn."""
    producer._txn_manager._txn_partitions.add(tp)  # as if added: the coordinator never hears
    await (await producer.send(tp.topic, value, partition=tp.partition))


async def commit_offset_unknown_to_coordinator(
    producer: AIOKafkaProducer, group: str, tp: TopicPartition, offset: int
) -> None:
    """Commit the group's offset in the producer's transaction without AddOffsetsToTxn."""
    producer._txn_manager.consumer_group_added(group)  # as if added: the coordinator never hears
    await producer.send_offsets_to_transaction({tp: offset}, group)


async def committed_offset(bootstrap: str, group: str, tp: TopicPartition) -> int | None:
    """The group's committed offset of ``tp`` (None before any)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        return await consumer.committed(tp)
    finally:
        await consumer.stop()


async def committed_values(bootstrap: str, tp: TopicPartition) -> list[bytes]:
    """What a read_committed consumer reads of ``tp`` up to its last stable offset."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, isolation_level="read_committed", enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        values: list[bytes] = []
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=2000)
            values += [record.value for record in batch.get(tp, []) if record.value is not None]
        return values
    finally:
        await consumer.stop()


async def abort_in(producer: AIOKafkaProducer, tps: list[TopicPartition]) -> None:
    """Abort once in every partition, as a fresh producer does (gap 15)."""
    for tp in tps:
        producer._txn_manager.maybe_add_partition_to_txn(tp)
    await producer.abort_transaction()


async def test_records_a_committed_transaction_left_open_are_committed_by_the_next_epoch(
    broker: str, tmp_path: Path
) -> None:
    left, kept = TopicPartition(unique("left"), 0), TopicPartition(unique("kept"), 0)
    source, group = TopicPartition(unique("orders"), 0), unique("group")
    async with admin_client(broker) as admin:
        await admin.create_topics([NewTopic(tp.topic, 1, 1) for tp in (left, kept, source)])
    await committed_offset(broker, group, source)  # the group and its offsets partition exist
    tid = unique("sealed")
    note = note_path(tmp_path, tid)
    first = await producer_of(broker, tid)
    async with unverified_partitions(broker):
        await first.begin_transaction()
        await write_unknown_to_coordinator(first, left, b"confirmed")
        await commit_offset_unknown_to_coordinator(first, group, source, 7)
        await (await first.send(kept.topic, b"reserved", partition=0))
        await first.commit_transaction()  # markers reach `kept` only: the rest stays open
    txn = first._txn_manager
    offset = SourceOffset(source.topic, source.partition, 7)
    now_ms = int(time.time() * 1000)
    CommitNotes(tmp_path).note(tid, txn.producer_id, txn.producer_epoch, now_ms, offset)
    await first.stop()

    restarted = await producer_of(broker, tid)
    try:
        await restarted.begin_transaction()
        sealed = await seal_leftovers(restarted, [left, kept], group, note)
        await abort_in(restarted, [left, kept])
    finally:
        await restarted.stop()

    assert {tp.topic for tp in sealed} == {left.topic, GROUP_OFFSETS_TOPIC}
    assert await committed_values(broker, left) == [b"confirmed"]
    assert await committed_values(broker, kept) == [b"reserved"]
    assert await committed_offset(broker, group, source) == 7


async def test_records_of_a_noted_commit_the_coordinator_aborted_are_aborted_by_the_next_epoch(
    broker: str, tmp_path: Path
) -> None:
    left, source, group = (
        TopicPartition(unique("left"), 0),
        TopicPartition(unique("orders"), 0),
        unique("group"),
    )
    async with admin_client(broker) as admin:
        await admin.create_topics([NewTopic(tp.topic, 1, 1) for tp in (left, source)])
    await committed_offset(broker, group, source)  # the group and its offsets partition exist
    tid = unique("sealed")
    note = note_path(tmp_path, tid)
    first = await producer_of(broker, tid)
    async with unverified_partitions(broker):
        await first.begin_transaction()
        await write_unknown_to_coordinator(first, left, b"never committed")
    await first.send_offsets_to_transaction({source: 7}, group)
    await first.abort_transaction()  # markers reach the group's offsets only: `left` stays open
    txn = first._txn_manager
    offset = SourceOffset(source.topic, source.partition, 7)
    now_ms = int(time.time() * 1000)
    CommitNotes(tmp_path).note(tid, txn.producer_id, txn.producer_epoch, now_ms, offset)
    await first.stop()  # as a worker whose EndTxn was answered, then aborted by a restart

    restarted = await producer_of(broker, tid)
    try:
        await restarted.begin_transaction()
        sealed = await seal_leftovers(restarted, [left], group, note)
        await abort_in(restarted, [left])
    finally:
        await restarted.stop()

    assert sealed == set()
    assert await committed_values(broker, left) == []
    assert await committed_offset(broker, group, source) is None


async def test_records_written_after_the_last_commit_are_aborted_by_the_next_epoch(
    broker: str, tmp_path: Path
) -> None:
    left, kept = TopicPartition(unique("left"), 0), TopicPartition(unique("kept"), 0)
    async with admin_client(broker) as admin:
        await admin.create_topics([NewTopic(tp.topic, 1, 1) for tp in (left, kept)])
    tid = unique("sealed")
    note = note_path(tmp_path, tid)
    first = await producer_of(broker, tid)
    await first.begin_transaction()
    await (await first.send(kept.topic, b"reserved", partition=0))
    await first.commit_transaction()
    txn = first._txn_manager
    CommitNotes(tmp_path).note(tid, txn.producer_id, txn.producer_epoch, int(time.time() * 1000))
    await asyncio.sleep(0.01)
    async with unverified_partitions(broker):
        await first.begin_transaction()  # the next transaction, never committed
        await write_unknown_to_coordinator(first, left, b"never committed")
    first._sender._sender_task.cancel()  # gone without a word, as a killed worker is

    restarted = await producer_of(broker, tid)
    try:
        await restarted.begin_transaction()
        sealed = await seal_leftovers(restarted, [left, kept], unique("group"), note)
        await abort_in(restarted, [left, kept])
    finally:
        await restarted.stop()
        await first.client.close()

    assert sealed == set()
    assert await committed_values(broker, left) == []
    assert await committed_values(broker, kept) == [b"reserved"]


async def test_a_transactions_offsets_are_found_open_in_the_groups_offsets_partition(
    broker: str,
) -> None:
    topic, group = unique("input"), unique("group")
    async with admin_client(broker) as admin:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    producer = await producer_of(broker, unique("offsets"))
    try:
        await producer.begin_transaction()
        await producer.send_offsets_to_transaction({TopicPartition(topic, 0): 7}, group)
        cluster = await producer.client.fetch_all_metadata()
        offsets_partitions = cluster.partitions_for_topic(GROUP_OFFSETS_TOPIC)
        group_tp = TopicPartition(
            GROUP_OFFSETS_TOPIC, group_offsets_partition(group, len(offsets_partitions))
        )
        found = await open_batches(producer.client, [group_tp], cluster)
        await producer.commit_transaction()
        txn = producer._txn_manager
        assert (txn.producer_id, txn.producer_epoch) in {
            (batch.producer_id, batch.producer_epoch) for batch in found.get(group_tp, [])
        }
    finally:
        await producer.stop()
