"""A transaction joins its partitions and consumer group as it begins; an idle one is released.

The producer is a stand-in around aiokafka's real transaction state (no broker). Set
ES_TEST_EXACTLY_ONCE_REPAIRS=-prepared-transactions to see the first test fail: the
next transaction then joins nothing until its records and offsets come; and
-quick-add-retries to see the last one fail: aiokafka retries a transaction's first
partitions after 20 ms whatever the producer's backoff.
"""

import asyncio
import types

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import ConcurrentTransactions
from aiokafka.producer import sender as aiokafka_sender
from aiokafka.producer.sender import AddPartitionsToTxnHandler
from aiokafka.producer.transaction_manager import TransactionManager, TransactionState
from faust.types import TP

from ecommerce_streams.exactly_once import prepared
from ecommerce_streams.exactly_once.prepared import (
    IDLE_SECONDS,
    RECENT_SECONDS,
    PreparingTransactionManager,
    prepare,
    preparing,
    release_if_idle,
)
from ecommerce_streams.exactly_once.producer import TRANSACTION_RETRY_BACKOFF_MS, SettlingProducer
from tests.unit.exactly_once_app import exactly_once_app, flowing_app

ORDER_EVENTS_3 = TopicPartition("order-events", 3)
SHIPMENTS_3 = TopicPartition("shipments", 3)


class TransactionalProducer:
    """aiokafka's transaction state behind the producer calls a commit makes."""

    def __init__(self) -> None:
        self._txn_manager = TransactionManager("shop-worker-1", 60000)
        self._txn_manager.set_pid_and_epoch(5, 0)  # as InitProducerId answers
        self.commits = 0

    async def begin_transaction(self) -> None:
        """Begin, as aiokafka's producer does."""
        self._txn_manager.begin_transaction()

    async def send_offsets_to_transaction(self, offsets: object, group_id: str) -> None:
        """Offsets need a transaction in progress."""
        assert self._txn_manager.is_in_transaction()

    async def commit_transaction(self) -> None:
        """Commit as the broker would accept it: every partition and the group joined."""
        txn = self._txn_manager
        txn.committing_transaction()
        for tp in list(txn.partitions_to_add()):
            txn.partition_added(tp)
        group = txn.consumer_group_to_add()
        if group is not None:
            txn.consumer_group_added(group)
        txn.complete_transaction()
        self.commits += 1

    def send_record(self, tp: TopicPartition) -> None:
        """A record's batch joins its partition, as aiokafka's accumulator does."""
        self._txn_manager.maybe_add_partition_to_txn(tp)


def settling_producer(transactional: TransactionalProducer) -> SettlingProducer:
    """The exactly-once producer of a fresh app, with one transactional producer."""
    producer = exactly_once_app("prepared-test").producer
    assert isinstance(producer, SettlingProducer)
    producer._transaction_producers = {"shop-worker-1": transactional}
    producer._trn_locks = {"shop-worker-1": asyncio.Lock()}
    return producer


async def test_the_next_transaction_joins_the_partitions_written_and_the_group_as_it_begins() -> (
    None
):
    transactional = TransactionalProducer()
    producer = settling_producer(transactional)
    assert preparing(transactional) is not None
    await transactional.begin_transaction()
    transactional.send_record(ORDER_EVENTS_3)
    transactional.send_record(SHIPMENTS_3)

    await producer.commit_transactions({"shop-worker-1": {TP("orders", 3): 42}}, "shop")

    txn = transactional._txn_manager
    assert txn.is_in_transaction()
    assert txn.partitions_to_add() == {ORDER_EVENTS_3, SHIPMENTS_3}
    assert txn.consumer_group_to_add() == "shop"


async def test_offsets_of_a_prepared_transaction_need_no_group_request_of_their_own() -> None:
    transactional = TransactionalProducer()
    txn = preparing(transactional)
    assert txn is not None
    await transactional.begin_transaction()
    prepare(transactional, "shop")
    assert txn.consumer_group_to_add() == "shop"
    txn.consumer_group_added("shop")

    txn.add_offsets_to_txn({TopicPartition("orders", 3): 42}, "shop")

    assert txn.consumer_group_to_add() is None
    assert txn.offsets_to_commit() == ({TopicPartition("orders", 3): 42}, "shop")


async def test_a_partition_not_written_for_a_while_is_no_longer_joined_in_advance() -> None:
    transactional = TransactionalProducer()
    txn = preparing(transactional)
    assert txn is not None
    txn.begin_transaction()
    transactional.send_record(ORDER_EVENTS_3)
    txn.recent[ORDER_EVENTS_3] -= RECENT_SECONDS + 1
    transactional.send_record(SHIPMENTS_3)
    await transactional.commit_transaction()
    await transactional.begin_transaction()

    prepare(transactional, "shop")

    assert txn.partitions_to_add() == {SHIPMENTS_3}


async def test_a_prepared_transaction_no_record_joined_is_committed_once_idle() -> None:
    transactional = TransactionalProducer()
    txn = preparing(transactional)
    assert txn is not None
    await transactional.begin_transaction()
    prepare(transactional, "shop")
    assert txn.prepared_at is not None

    assert not await release_if_idle(transactional, txn.prepared_at + IDLE_SECONDS / 2)
    assert await release_if_idle(transactional, txn.prepared_at + IDLE_SECONDS + 1)

    assert transactional.commits == 1
    assert txn.is_in_transaction()
    assert txn.prepared_at is None, "the transaction after an idle one is not prepared"
    assert not txn.partitions_to_add() and txn.consumer_group_to_add() is None


async def test_a_prepared_transaction_with_records_is_left_to_its_commit() -> None:
    transactional = TransactionalProducer()
    txn = preparing(transactional)
    assert txn is not None
    await transactional.begin_transaction()
    prepare(transactional, "shop")
    transactional.send_record(ORDER_EVENTS_3)
    assert txn.prepared_at is not None

    assert not await release_if_idle(transactional, txn.prepared_at + IDLE_SECONDS + 1)
    assert transactional.commits == 0


async def test_the_commit_timer_releases_an_idle_prepared_transaction() -> None:
    transactional = TransactionalProducer()
    producer = settling_producer(transactional)
    txn = preparing(transactional)
    assert txn is not None
    await transactional.begin_transaction()
    prepare(transactional, "shop")
    txn.prepared_at = (txn.prepared_at or 0.0) - IDLE_SECONDS - 1

    await producer.release_idle_transactions()

    assert transactional.commits == 1
    assert txn.state is TransactionState.IN_TRANSACTION
    assert isinstance(txn, PreparingTransactionManager)
    assert prepared.IDLE_SECONDS < 60, "released well within aiokafka's transaction timeout"


def test_a_transactions_first_partitions_refused_during_the_markers_are_retried_quickly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(aiokafka_sender, "BACKOFF_OVERRIDE", 0.02)  # aiokafka's own
    app = flowing_app()
    producer = app.producer
    assert isinstance(producer, SettlingProducer)
    producer._settings_extra()  # as each transactional producer is made
    sender = types.SimpleNamespace(
        _txn_manager=types.SimpleNamespace(txn_partitions=set()),
        _retry_backoff=TRANSACTION_RETRY_BACKOFF_MS / 1000,
    )
    handler = AddPartitionsToTxnHandler(sender, {ORDER_EVENTS_3})
    refused = types.SimpleNamespace(errors=[("order-events", [(3, ConcurrentTransactions.errno)])])

    assert handler.handle_response(refused) == TRANSACTION_RETRY_BACKOFF_MS / 1000
