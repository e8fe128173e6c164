"""A fresh transactional producer aborts in every partition it may write to before its first event.

The transactional producers are stand-ins recording what they were asked (no broker):
what is under test is what our transaction manager does when a rebalance hands it a
partition. Set ES_TEST_EXACTLY_ONCE_REPAIRS=-forgotten-transactions to see it fail.
"""

import itertools

from aiokafka import TopicPartition

from ecommerce_streams.exactly_once.transactions import SourceTransactionManager
from tests.unit.exactly_once_app import exactly_once_app

_app_ids = itertools.count()
OUTPUTS = ("shipments", "notifications")
PARTITIONS = {0, 1, 2, 3}


class TransactionLog:
    """What a stand-in producer's transaction manager was asked to add."""

    def __init__(self, calls: list[str]) -> None:
        self._calls = calls

    def maybe_add_partition_to_txn(self, tp: TopicPartition) -> None:
        """Record a partition joining the transaction."""
        self._calls.append(f"add {tp.topic}[{tp.partition}]")


class TransactionProducer:
    """An aiokafka transactional producer stand-in that records its calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._txn_manager = TransactionLog(self.calls)

    async def partitions_for(self, topic: str) -> set[int]:
        """Every topic has four partitions."""
        return PARTITIONS

    async def abort_transaction(self) -> None:
        """Record the abort."""
        self.calls.append("abort")

    async def begin_transaction(self) -> None:
        """Record the next transaction's start."""
        self.calls.append("begin")


def transaction_manager() -> SourceTransactionManager:
    """The transaction manager of a fresh exactly-once app whose producers are stand-ins."""
    app = exactly_once_app("forgotten-test")
    app.output_topics = frozenset(OUTPUTS)
    app.Table("stock", partitions=4)
    producer = app.producer
    producer._transaction_producers = {}

    async def begin(tid: str) -> None:
        producer._transaction_producers.setdefault(tid, TransactionProducer())

    producer.maybe_begin_transaction = begin  # type: ignore[method-assign]
    manager = app.consumer.transactions
    assert isinstance(manager, SourceTransactionManager)
    return manager


async def test_a_fresh_producer_aborts_in_every_output_and_its_changelog_partition() -> None:
    manager = transaction_manager()

    await manager._start_transactions(["shop-1-2"])

    producer = manager.producer._transaction_producers["shop-1-2"]
    changelog = next(iter(manager.app.tables.values())).changelog_topic.get_topic_name()
    added = {call for call in producer.calls if call.startswith("add ")}
    assert added == {f"add {topic}[{n}]" for topic in OUTPUTS for n in PARTITIONS} | {
        f"add {changelog}[2]"
    }
    assert producer.calls[-2:] == ["abort", "begin"]


async def test_a_fresh_producer_aborts_in_the_kafka_topics_the_router_delivers_to() -> None:
    manager = transaction_manager()

    async def routed() -> list[str]:
        return ["fraud-review"]

    manager.app.routed_topics = routed  # type: ignore[attr-defined]
    await manager._start_transactions(["shop-1-2"])

    producer = manager.producer._transaction_producers["shop-1-2"]
    assert {f"add fraud-review[{n}]" for n in PARTITIONS} <= set(producer.calls)
    assert producer.calls[-2:] == ["abort", "begin"]


async def test_a_producer_kept_through_a_rebalance_keeps_its_open_transaction() -> None:
    manager = transaction_manager()
    kept = TransactionProducer()
    manager.producer._transaction_producers["shop-1-2"] = kept

    await manager._start_transactions(["shop-1-2"])

    assert kept.calls == []
