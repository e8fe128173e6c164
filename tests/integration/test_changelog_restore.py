"""Integration tests: a table partition is restored from every committed changelog record."""

import time
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import NewTopic
from aiokafka.structs import TopicPartition
from faust.types import TP

from ecommerce_streams.exactly_once.table_recovery import ChangelogRestorer, PassOver
from ecommerce_streams.kafka_admin import admin_client

pytestmark = pytest.mark.integration


class PartitionStore:
    """A table partition's local store: applied records and the persisted offset."""

    def __init__(self, persisted: int | None = None) -> None:
        self.rows: dict[bytes, bytes] = {}
        self.persisted = persisted
        self.data = self
        self.dropped: list[int] = []

    def drop_partition(self, partition: int) -> None:
        self.rows.clear()
        self.persisted = None
        self.dropped.append(partition)

    def persisted_offset(self, tp: TP) -> int | None:
        return self.persisted

    def set_persisted_offset(self, tp: TP, offset: int) -> None:
        self.persisted = offset

    def apply_changelog_batch(self, batch: Any) -> None:
        for record in batch:
            message = record.message
            if message.value is None:
                self.rows.pop(message.key, None)
            else:
                self.rows[message.key] = message.value
            self.set_persisted_offset(message.tp, message.offset)


async def new_changelog(bootstrap: str, transactions: list[tuple[bool, dict]]) -> TP:
    """Write each (commit?, {key: value}) transaction to a new one-partition changelog."""
    topic = f"restore-{uuid.uuid4().hex[:8]}-changelog"
    async with admin_client(bootstrap) as admin:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"{topic}-writer")
    await producer.start()
    try:
        for commit, rows in transactions:
            await producer.begin_transaction()
            for key, value in rows.items():
                await producer.send_and_wait(topic, value, key=key, partition=0)
            if commit:
                await producer.commit_transaction()
            else:
                await producer.abort_transaction()
    finally:
        await producer.stop()
    return TP(topic, 0)


async def restore(
    broker: str, tp: TP, store: PartitionStore, passes: int = 1, seconds: float = 60
) -> list[dict[TP, int]]:
    """Restore one partition into the store ``passes`` times; return each pass's ends."""
    restorer = ChangelogRestorer([broker])
    try:
        return [
            await restorer.restore({tp: store}, deadline=time.monotonic() + seconds)
            for _ in range(passes)
        ]
    finally:
        await restorer.close()


async def test_restore_applies_committed_records_up_to_the_end_and_skips_aborted_ones(
    broker: str,
) -> None:
    tp = await new_changelog(
        broker,
        [
            (True, {b"ord-1": b"pending", b"ord-2": b"pending"}),
            (False, {b"ord-1": b"confirmed", b"ord-3": b"pending"}),
            (True, {b"ord-2": b"rejected", b"ord-4": b"pending"}),
            (True, {b"ord-4": None}),
        ],
    )
    store = PartitionStore()
    [ends] = await restore(broker, tp, store)

    assert store.rows == {b"ord-1": b"pending", b"ord-2": b"rejected"}
    assert tp in ends
    assert store.persisted == ends[tp] - 1  # the next restore starts after the last marker


async def test_restore_goes_on_from_the_persisted_offset_and_keeps_what_was_applied(
    broker: str,
) -> None:
    tp = await new_changelog(
        broker,
        [(True, {b"sku-1": b"10"}), (True, {b"sku-2": b"5"}), (True, {b"sku-1": b"7"})],
    )
    store = PartitionStore(persisted=1)  # the first transaction (record + marker) is applied
    store.rows = {b"sku-1": b"10"}
    first, again = await restore(broker, tp, store, passes=2)

    assert store.rows == {b"sku-1": b"7", b"sku-2": b"5"}
    assert first == again  # a second pass finds nothing left and the same end


async def test_restore_cut_short_by_its_deadline_reports_the_partition_unfinished(
    broker: str,
) -> None:
    tp = await new_changelog(broker, [(True, {b"ord-1": b"pending"})])
    store = PartitionStore()
    [ends] = await restore(broker, tp, store, seconds=-1)

    assert ends == {}
    assert store.persisted is None


async def test_kept_files_ending_in_a_transaction_that_did_not_commit_are_restored_whole(
    broker: str,
) -> None:
    # Offsets: 0 pending, 1 its commit marker, 2 confirmed, 3 its abort marker. The broker
    # acknowledged the second commit but wrote no markers; the worker stored "confirmed"
    # with offset 2, and the next owner's abort of forgotten transactions undid it.
    tp = await new_changelog(
        broker, [(True, {b"ord-1": b"pending"}), (False, {b"ord-1": b"confirmed"})]
    )
    store = PartitionStore(persisted=2)
    store.rows = {b"ord-1": b"confirmed"}
    [ends] = await restore(broker, tp, store)

    assert store.dropped == [0]
    assert store.rows == {b"ord-1": b"pending"}
    assert ends == {tp: 4}


async def test_kept_files_ending_at_a_committed_record_or_a_marker_are_kept(broker: str) -> None:
    # Offsets: 0 sku-1, 1 marker, 2 sku-2, 3 marker. A commit stores the offset of its last
    # record (2); a finished restore stores the one before the end (3, a marker).
    tp = await new_changelog(broker, [(True, {b"sku-1": b"10"}), (True, {b"sku-2": b"5"})])
    after_commit = PartitionStore(persisted=2)
    after_commit.rows = {b"sku-1": b"10", b"sku-2": b"5"}
    after_restore = PartitionStore(persisted=1)
    after_restore.rows = {b"sku-1": b"10"}
    await restore(broker, tp, after_commit)
    await restore(broker, tp, after_restore)

    assert after_commit.dropped == after_restore.dropped == []
    assert after_commit.rows == after_restore.rows == {b"sku-1": b"10", b"sku-2": b"5"}


async def test_kept_files_of_a_commit_whose_markers_are_not_written_yet_wait_for_them(
    broker: str,
) -> None:
    # Offsets: 0 sku-1, 1 marker, 2 sku-2 of a transaction still open: the stable end is 2,
    # as it is between a commit's answer and its markers. Files naming offset 2 are not
    # ahead of the changelog: the restore waits for the markers instead of dropping them.
    tp = await new_changelog(broker, [(True, {b"sku-1": b"10"})])
    producer = AIOKafkaProducer(bootstrap_servers=broker, transactional_id=f"{tp.topic}-open")
    await producer.start()
    try:
        await producer.begin_transaction()
        await producer.send_and_wait(tp.topic, b"5", key=b"sku-2", partition=0)
        store = PartitionStore(persisted=2)
        store.rows = {b"sku-1": b"10", b"sku-2": b"5"}
        [unmarked] = await restore(broker, tp, store, seconds=1)
        await producer.commit_transaction()
        [marked] = await restore(broker, tp, store)
    finally:
        await producer.stop()

    assert unmarked == {}
    assert store.dropped == []
    assert store.rows == {b"sku-1": b"10", b"sku-2": b"5"}
    assert marked == {tp: 4}


@pytest.mark.parametrize(("outcome", "restored"), [("commit", b"reserved"), ("abort", b"pending")])
async def test_a_restore_waits_until_a_transaction_left_open_in_the_changelog_has_ended(
    broker: str, outcome: str, restored: bytes
) -> None:
    # Offsets: 0 ord-1, 1 marker, 2 ord-1 of the previous owner's transaction, still open
    # (e.g. a commit whose markers the broker skipped, until that owner's next epoch commits
    # it again). A new owner that restored up to the stable offset (2) ended without it
    # while the group's offsets said its event was done: the order's next step found it
    # pending.
    tp = await new_changelog(broker, [(True, {b"ord-1": b"pending"})])
    previous_owner = AIOKafkaProducer(
        bootstrap_servers=broker, transactional_id=f"{tp.topic}-previous-owner"
    )
    await previous_owner.start()
    try:
        await previous_owner.begin_transaction()
        await previous_owner.send_and_wait(tp.topic, b"reserved", key=b"ord-1", partition=0)
        store = PartitionStore()
        [while_open] = await restore(broker, tp, store, seconds=1)
        end = (
            previous_owner.commit_transaction
            if outcome == "commit"
            else previous_owner.abort_transaction
        )
        await end()
        [once_ended] = await restore(broker, tp, store)
    finally:
        await previous_owner.stop()

    assert while_open == {}
    assert store.rows == {b"ord-1": restored}
    assert once_ended == {tp: 4}


async def test_a_check_of_kept_files_unanswered_by_the_pass_deadline_ends_the_pass(
    broker: str,
) -> None:
    # A read that cannot reach the kept offset (a broker that does not answer) must not
    # hold the restore past its pass: the next pass checks again.
    tp = await new_changelog(broker, [(False, {b"ord-1": b"confirmed"})])
    restorer = ChangelogRestorer([broker])
    try:
        with pytest.raises(PassOver):
            await restorer._aborted(TopicPartition(tp.topic, 0), 0, deadline=time.monotonic())
    finally:
        await restorer.close()
