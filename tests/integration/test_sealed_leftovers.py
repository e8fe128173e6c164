"""Integration tests: a commit whose markers skipped partitions is seen to have, and what it
left open is committed by the next epoch.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from ecommerce_streams.exactly_once.confirmed_commits import log_ends, unconfirmed
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
        await broker_setting_applied(admin, VERIFICATION, "false")
        try:
            yield
        finally:
            await admin.alter_configs(
                [ConfigResource(ConfigResourceType.BROKER, "1", {VERIFICATION: "true"})]
            )


async def broker_setting_applied(admin: Any, name: str, value: str) -> None:
    """Wait until the broker describes its setting with the value just given it: dynamic
    settings apply asynchronously, later on a busy host than on a quiet one."""
    resource = ConfigResource(ConfigResourceType.BROKER, "1")
    for _ in range(100):
        described = await admin.describe_configs([resource])
        entries = {
            entry[0]: entry[1]
            for response in described
            for described_resource in response.resources
            for entry in described_resource[4]
        }
        if entries.get(name) == value:
            await asyncio.sleep(0.2)  # the describing and the appending paths apply it apart
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the broker never applied {name}={value}")


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


async def create_topics(bootstrap: str, *tps: TopicPartition) -> None:
    """One single-partition topic for each of ``tps``."""
    async with admin_client(bootstrap) as admin:
        await admin.create_topics([NewTopic(tp.topic, 1, 1) for tp in tps])


def note_commit(
    notes: Path, tid: str, producer: AIOKafkaProducer, source: SourceOffset | None = None
) -> None:
    """Note the producer's last transaction as committed, as a worker does once EndTxn answers."""
    txn = producer._txn_manager
    now_ms = int(time.time() * 1000)
    CommitNotes(notes).note(tid, txn.producer_id, txn.producer_epoch, now_ms, source)


async def sealed_by_next_epoch(
    bootstrap: str, tid: str, tps: list[TopicPartition], group: str, note: Path
) -> set[TopicPartition]:
    """What a restarted producer of ``tid`` seals in ``tps``, before it aborts the rest."""
    restarted = await producer_of(bootstrap, tid)
    try:
        await restarted.begin_transaction()
        sealed = await seal_leftovers(restarted, tps, group, note)
        await abort_in(restarted, tps)
    finally:
        await restarted.stop()
    return sealed


@dataclass(frozen=True)
class Scene:
    """One test's partitions (a source read by ``group``), group and transactional id."""

    left: TopicPartition
    kept: TopicPartition
    source: TopicPartition
    group: str
    tid: str
    note: Path

    def noted_offset(self) -> SourceOffset:
        """The offset 7 of the source, as a commit note names it."""
        return SourceOffset(self.source.topic, self.source.partition, 7)


async def scene(bootstrap: str, notes: Path) -> Scene:
    """Fresh topics, a group whose offsets partition exists, a transactional id, its note."""
    left, kept, source = (TopicPartition(unique(name), 0) for name in ("left", "kept", "orders"))
    await create_topics(bootstrap, left, kept, source)
    group, tid = unique("group"), unique("sealed")
    await committed_offset(bootstrap, group, source)
    return Scene(left, kept, source, group, tid, note_path(notes, tid))


async def half_known_transaction(bootstrap: str, at: Scene, value: bytes) -> AIOKafkaProducer:
    """A producer of ``at.tid`` in a transaction writing ``value`` to ``left`` and ``kept``
    and the group's offset 7 of ``source``; its coordinator hears of ``kept`` alone."""
    producer = await producer_of(bootstrap, at.tid)
    async with unverified_partitions(bootstrap):
        await producer.begin_transaction()
        await write_unknown_to_coordinator(producer, at.left, value)
        await commit_offset_unknown_to_coordinator(producer, at.group, at.source, 7)
        await (await producer.send(at.kept.topic, value, partition=0))
    return producer


async def test_records_a_committed_transaction_left_open_are_committed_by_the_next_epoch(
    broker: str, tmp_path: Path
) -> None:
    at = await scene(broker, tmp_path)
    first = await half_known_transaction(broker, at, b"confirmed")
    await first.commit_transaction()  # markers reach `kept` only: the rest stays open
    note_commit(tmp_path, at.tid, first, at.noted_offset())
    await first.stop()

    sealed = await sealed_by_next_epoch(broker, at.tid, [at.left, at.kept], at.group, at.note)

    assert {tp.topic for tp in sealed} == {at.left.topic, GROUP_OFFSETS_TOPIC}
    assert await committed_values(broker, at.left) == [b"confirmed"]
    assert await committed_values(broker, at.kept) == [b"confirmed"]
    assert await committed_offset(broker, at.group, at.source) == 7


async def test_a_commit_whose_markers_skipped_partitions_is_unconfirmed_in_just_those(
    broker: str, tmp_path: Path
) -> None:
    at = await scene(broker, tmp_path)
    first = await half_known_transaction(broker, at, b"confirmed")
    offsets_partitions = await first.partitions_for(GROUP_OFFSETS_TOPIC)
    group_tp = TopicPartition(
        GROUP_OFFSETS_TOPIC, group_offsets_partition(at.group, len(offsets_partitions))
    )
    ends = await log_ends(first.client, [at.left, at.kept, group_tp])
    await first.commit_transaction()  # markers reach `kept` only: the rest stays open
    note_commit(tmp_path, at.tid, first, at.noted_offset())
    txn = first._txn_manager
    try:
        missing = await unconfirmed(
            first.client, txn.producer_id, txn.producer_epoch, ends, wait_seconds=1.0
        )
    finally:
        await first.stop()
    sealed = await sealed_by_next_epoch(broker, at.tid, [at.left, at.kept], at.group, at.note)

    assert missing == {at.left, group_tp}
    assert sealed == missing
    assert await committed_values(broker, at.left) == [b"confirmed"]
    assert await committed_offset(broker, at.group, at.source) == 7


async def test_a_producer_that_never_wrote_the_groups_offsets_topic_finds_where_it_ends(
    broker: str,
) -> None:
    producer = await producer_of(broker, unique("fresh"))  # as one begun after a rebalance
    try:
        group_tp = TopicPartition(GROUP_OFFSETS_TOPIC, 0)
        assert producer.client.cluster.leader_for_partition(group_tp) is None
        ends = await log_ends(producer.client, [group_tp])
    finally:
        await producer.stop()

    assert set(ends) == {group_tp}


async def test_records_of_a_noted_commit_the_coordinator_aborted_are_aborted_by_the_next_epoch(
    broker: str, tmp_path: Path
) -> None:
    at = await scene(broker, tmp_path)
    first = await producer_of(broker, at.tid)
    async with unverified_partitions(broker):
        await first.begin_transaction()
        await write_unknown_to_coordinator(first, at.left, b"never committed")
    await first.send_offsets_to_transaction({at.source: 7}, at.group)
    await first.abort_transaction()  # markers reach the group's offsets only: `left` stays open
    note_commit(tmp_path, at.tid, first, at.noted_offset())
    await first.stop()  # as a worker whose EndTxn was answered, then aborted by a restart

    sealed = await sealed_by_next_epoch(broker, at.tid, [at.left], at.group, at.note)

    assert sealed == set()
    assert await committed_values(broker, at.left) == []
    assert await committed_offset(broker, at.group, at.source) is None


async def test_records_of_a_noted_commit_whose_abort_landed_elsewhere_are_aborted_too(
    broker: str, tmp_path: Path
) -> None:
    at = await scene(broker, tmp_path)
    first = await half_known_transaction(broker, at, b"never committed")
    await asyncio.sleep(0.01)
    note_commit(tmp_path, at.tid, first, at.noted_offset())
    first._sender._sender_task.cancel()  # noted as answered, then lost by the broker

    try:  # the next epoch's InitProducerId aborts it: its ABORT lands in `kept` alone
        sealed = await sealed_by_next_epoch(broker, at.tid, [at.left, at.kept], at.group, at.note)
    finally:
        await first.client.close()

    assert sealed == set()
    assert await committed_values(broker, at.left) == []
    assert await committed_values(broker, at.kept) == []
    assert await committed_offset(broker, at.group, at.source) is None


async def test_records_written_after_the_last_commit_are_aborted_by_the_next_epoch(
    broker: str, tmp_path: Path
) -> None:
    left, kept = TopicPartition(unique("left"), 0), TopicPartition(unique("kept"), 0)
    await create_topics(broker, left, kept)
    tid = unique("sealed")
    note = note_path(tmp_path, tid)
    first = await producer_of(broker, tid)
    await first.begin_transaction()
    await (await first.send(kept.topic, b"reserved", partition=0))
    await first.commit_transaction()
    note_commit(tmp_path, tid, first)
    await asyncio.sleep(0.01)
    async with unverified_partitions(broker):
        await first.begin_transaction()  # the next transaction, never committed
        await write_unknown_to_coordinator(first, left, b"never committed")
    first._sender._sender_task.cancel()  # gone without a word, as a killed worker is

    try:
        sealed = await sealed_by_next_epoch(broker, tid, [left, kept], unique("group"), note)
    finally:
        await first.client.close()

    assert sealed == set()
    assert await committed_values(broker, left) == []
    assert await committed_values(broker, kept) == [b"reserved"]


async def test_a_transactions_offsets_are_found_open_in_the_groups_offsets_partition(
    broker: str,
) -> None:
    topic, group = unique("input"), unique("group")
    await create_topics(broker, TopicPartition(topic, 0))
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
