"""A table change's changelog partition joins its transaction at once, not at the commit.

The transaction manager is aiokafka's own (its state only, no broker). Set
ES_TEST_EXACTLY_ONCE_REPAIRS=-early-changelog-partitions to see the test fail.
"""

from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.producer.transaction_manager import TransactionManager
from faust.types import TP

from ecommerce_streams.exactly_once.outbox import outbox_of, transactional_id
from tests.unit.exactly_once_app import exactly_once_app, message_of

ORDERS_3 = TP("orders", 3)


class ProcessedEvent:
    """The event an agent is processing: what Faust's ``current_event()`` returns."""

    def __init__(self, message: Any) -> None:
        self.message = message


class TransactionalProducer:
    """An aiokafka producer as the outbox sees it: its transaction manager."""

    def __init__(self, txn_manager: TransactionManager) -> None:
        self._txn_manager = txn_manager


async def test_a_table_change_adds_its_changelog_partition_to_the_open_transaction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = exactly_once_app("outbox-test")
    # the topic group an assignment would give the source topic
    monkeypatch.setattr(app.assignor, "group_for_topic", lambda topic: 0)
    table = app.Table("stock-levels", default=int)
    txn = TransactionManager("outbox-test-3", 60_000)
    txn.set_pid_and_epoch(1, 0)
    txn.begin_transaction()
    producers = {transactional_id(app, ORDERS_3): TransactionalProducer(txn)}
    app.producer._transaction_producers = producers  # type: ignore[attr-defined]
    stream = app.stream(app.topic("orders"))
    stream._set_current_event(ProcessedEvent(message_of(ORDERS_3, 10)))  # as Faust's stream does

    outbox_of(app).change(table, 3, "sku-1", 5)
    outbox_of(app).change(table, 3, "sku-2", 7)

    changelog = TopicPartition(table.changelog_topic.get_topic_name(), 3)
    assert txn.partitions_to_add() == {changelog}
    assert outbox_of(app).pending_changes == 2
