"""Transactions that join their partitions and consumer group as they begin (speed-up).

aiokafka sends a transaction's requests to its coordinator one at a time: the
partitions a record joins (AddPartitionsToTxn) as it is sent, then at the commit the
consumer group (AddOffsetsToTxn), the offsets (TxnOffsetCommit) and EndTxn. Under a
light load the first record of a transaction is sent just before its commit, and the
commit round is those four round trips in a row. A prepared transaction joins the
partitions its worker wrote recently and the consumer group as soon as it begins, while
the worker waits for its next input: the commit round is then the offsets beside the
records' produce request, then EndTxn.

A transaction that joined partitions is open at the coordinator, which aborts it (and
fences its producer) once it outlives the transaction timeout; a prepared transaction
that no record joined is therefore committed, empty, before that
(:func:`release_if_idle`, from the commit timer) and its successor is not prepared.
"""

import time
from typing import Any

from aiokafka import TopicPartition
from aiokafka.producer.transaction_manager import TransactionManager

#: How long a partition written counts as recent: the next transactions join it at once.
RECENT_SECONDS = 5.0
#: How long a prepared transaction no record joined stays open before it is released.
IDLE_SECONDS = 10.0


class PreparingTransactionManager(TransactionManager):  # type: ignore[misc]
    """aiokafka's transaction state, which can join the consumer group before any offsets.

    It also notes when each partition last had a record, to prepare the next transaction.
    """

    #: The consumer group to join before any offsets are sent, once prepared.
    early_group: str | None = None
    #: When the open transaction was prepared (monotonic), None when it was not.
    prepared_at: float | None = None
    #: Whether a record joined the open transaction.
    has_records = False
    #: The partitions written and when (monotonic seconds), for the next transactions.
    recent: dict[TopicPartition, float]

    def maybe_add_partition_to_txn(self, tp: TopicPartition) -> None:
        """Join the partition of a record (a batch's first) and note it as written now."""
        self.recent[tp] = time.monotonic()
        self.has_records = True
        super().maybe_add_partition_to_txn(tp)

    def consumer_group_to_add(self) -> str | None:
        """The group of the pending offsets, or of the prepared transaction before any."""
        group: str | None = super().consumer_group_to_add()
        if group is None and self._txn_consumer_group is None:
            return self.early_group
        return group

    def consumer_group_added(self, group_id: str) -> None:
        """Note the group joined; it is not joined again in this transaction."""
        self.early_group = None
        super().consumer_group_added(group_id)

    def begin_transaction(self) -> None:
        """Begin a transaction, not prepared until :func:`prepare` says so."""
        self.early_group = None
        self.prepared_at = None
        self.has_records = False
        super().begin_transaction()


def preparing(producer: Any) -> PreparingTransactionManager | None:
    """The producer's aiokafka transaction state, made a ``PreparingTransactionManager``
    in place (None for a producer without one)."""
    txn = producer._txn_manager
    if type(txn) is TransactionManager:
        txn.__class__ = PreparingTransactionManager
        txn.recent = {}
    return txn if isinstance(txn, PreparingTransactionManager) else None


def prepare(producer: Any, group_id: str) -> None:
    """Join the open transaction to the partitions written recently and to the group now."""
    txn = preparing(producer)
    if txn is None:
        return
    now = time.monotonic()
    recent = {tp: at for tp, at in txn.recent.items() if now - at < RECENT_SECONDS}
    txn.recent = recent
    for tp in recent:
        TransactionManager.maybe_add_partition_to_txn(txn, tp)  # not a record: not noted
    txn.early_group = group_id
    txn.prepared_at = now
    txn.notify_task_waiter()


def idle_since_prepared(producer: Any, now: float) -> bool:
    """Whether the open transaction was prepared ``IDLE_SECONDS`` ago and has no record."""
    txn = producer._txn_manager
    return (
        isinstance(txn, PreparingTransactionManager)
        and txn.is_in_transaction()
        and txn.prepared_at is not None
        and not txn.has_records
        and now - txn.prepared_at > IDLE_SECONDS
    )


async def release_if_idle(producer: Any, now: float) -> bool:
    """Commit a prepared transaction that no record joined, and begin one not prepared."""
    if not idle_since_prepared(producer, now):
        return False
    await producer.commit_transaction()
    await producer.begin_transaction()
    return True
