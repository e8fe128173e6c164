"""One producer per worker: its naming, and how group fencing reads the coordinator's answers.

The answers here are built by hand in the shape aiokafka decodes; the real broker's are
in ``tests/integration/test_group_fencing.py``. Set
ES_TEST_EXACTLY_ONCE_REPAIRS=-worker-transactions to see a worker start one producer
per partition again.
"""

from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.structs import OffsetAndMetadata
from faust.types import TP

from ecommerce_streams.exactly_once.group_fencing import (
    FencedTxnOffsetCommitHandler,
    GroupFencedSender,
    GroupMember,
    UnstableOffsetCommit,
    ZombieFenced,
    stable_offsets,
)
from ecommerce_streams.exactly_once.outbox import transactional_id
from tests.unit.exactly_once_app import exactly_once_app

ILLEGAL_GENERATION = 22
UNKNOWN_MEMBER_ID = 25
REBALANCE_IN_PROGRESS = 27
UNSTABLE_OFFSET_COMMIT = 88


def test_a_workers_partitions_share_one_transactional_producer() -> None:
    app = exactly_once_app("worker-transactions")
    app.worker_name = "shop-host-6066"
    app.assignor._topic_groups = {"orders": 0, "payments": 1}  # as the app's topics would
    partitions = {TP("orders", number) for number in range(4)} | {TP("payments", 2)}
    manager = app.consumer.transactions

    assert manager._tps_to_transactional_ids(partitions) == {f"{app.conf.id}-worker-shop-host-6066"}
    assert {transactional_id(app, tp) for tp in partitions} == {
        f"{app.conf.id}-worker-shop-host-6066"
    }


def test_a_worker_without_partitions_starts_no_producer() -> None:
    manager = exactly_once_app("worker-transactions").consumer.transactions

    assert manager._tps_to_transactional_ids(set()) == set()


def offset_fetch_answer(code: int) -> Any:
    """An OffsetFetch v7 answer for orders[0] at offset 7 with this partition error code."""
    partition = (0, 7, -1, "", code, {})
    return SimpleNamespace(throttle_time_ms=0, topics=[("orders", [partition], {})], error_code=0)


def test_a_stable_answer_reads_as_aiokafkas_own() -> None:
    answer = stable_offsets(offset_fetch_answer(0))

    assert answer.topics == [("orders", [(0, 7, "", 0)])]
    assert answer.error_code == 0


def test_offsets_an_open_transaction_holds_are_asked_for_again() -> None:
    with pytest.raises(UnstableOffsetCommit) as raised:
        stable_offsets(offset_fetch_answer(UNSTABLE_OFFSET_COMMIT))

    assert raised.value.retriable


class Transaction:
    """Records what the handler tells aiokafka's transaction manager."""

    transactional_id = "shop-worker-a"
    producer_id = 4
    producer_epoch = 0

    def __init__(self) -> None:
        self.failed: list[Exception] = []
        self.committed: list[tuple[TopicPartition, int]] = []

    def error_transaction(self, exc: Exception) -> None:
        self.failed.append(exc)

    def offset_committed(self, tp: TopicPartition, offset: int, group_id: str) -> None:
        self.committed.append((tp, offset))


def handler_answered(code: int) -> tuple[Transaction, float | None]:
    """What a TxnOffsetCommit v3 answer with this error code does to the transaction."""
    transaction = Transaction()
    sender = SimpleNamespace(_txn_manager=transaction, _retry_backoff=0.05)
    offsets = {TopicPartition("orders", 0): OffsetAndMetadata(7, "")}
    handler = FencedTxnOffsetCommitHandler(sender, offsets, "shop", GroupMember(3, "member-a"))
    answer = SimpleNamespace(topics=[("orders", [(0, code, {})], {})])
    return transaction, handler.handle_response(answer)


@pytest.mark.parametrize("code", [ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID])
def test_offsets_of_a_member_the_group_left_behind_fail_its_transaction(code: int) -> None:
    transaction, retry = handler_answered(code)

    assert retry is None
    assert [type(exc) for exc in transaction.failed] == [ZombieFenced]
    assert transaction.committed == []


def test_offsets_sent_while_the_group_awaits_its_assignment_are_sent_again() -> None:
    transaction, retry = handler_answered(REBALANCE_IN_PROGRESS)

    assert retry == 0.05
    assert transaction.failed == []


def test_offsets_the_group_takes_are_committed_in_the_transaction() -> None:
    transaction, retry = handler_answered(0)

    assert retry is None
    assert transaction.committed == [(TopicPartition("orders", 0), 7)]


def test_the_request_names_the_committing_member() -> None:
    transaction = Transaction()
    sender = SimpleNamespace(_txn_manager=transaction, _retry_backoff=0.05)
    offsets = {TopicPartition("orders", 0): OffsetAndMetadata(7, "")}
    handler = FencedTxnOffsetCommitHandler(sender, offsets, "shop", GroupMember(3, "member-a"))

    request = handler.create_request().prepare({28: (0, 4)})

    assert request.API_VERSION == 3
    fields = request.to_object()
    assert (fields["generation_id"], fields["member_id"]) == (3, "member-a")
    assert fields["topics"][0]["partitions"][0]["committed_offset"] == 7


async def test_offsets_to_commit_before_the_worker_joined_its_group_fail_the_transaction() -> None:
    async def coordinator(kind: Any, group_id: str) -> int:
        return 1

    def no_member() -> GroupMember:
        raise ZombieFenced("offsets to commit before the worker's consumer has joined its group")

    transaction = Transaction()
    sender = GroupFencedSender.__new__(GroupFencedSender)
    sender._txn_manager, sender._find_coordinator = transaction, coordinator
    sender.member_of = no_member

    await sender._do_txn_offset_commit(
        {TopicPartition("orders", 0): OffsetAndMetadata(7, "")}, "shop"
    )

    assert [type(exc) for exc in transaction.failed] == [ZombieFenced]


class FreshProducer:
    """A fresh transactional producer stand-in recording its calls, over two partitions a topic."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._txn_manager = self

    def maybe_add_partition_to_txn(self, tp: TopicPartition) -> None:
        self.calls.append(f"add {tp.topic}[{tp.partition}]")

    async def partitions_for(self, topic: str) -> set[int]:
        return {0, 1}

    async def send_offsets_to_transaction(self, offsets: dict[Any, int], group_id: str) -> None:
        self.calls.append(f"offsets of {group_id}")

    async def abort_transaction(self) -> None:
        self.calls.append("abort")

    async def begin_transaction(self) -> None:
        self.calls.append("begin")


async def test_a_workers_fresh_producer_aborts_the_offsets_its_earlier_runs_left_pending() -> None:
    app = exactly_once_app("worker-transactions")
    app.output_topics = frozenset({"order-events"})
    manager = app.consumer.transactions
    producer = FreshProducer()
    tid = transactional_id(app, TP("orders", 0))
    manager._producers = lambda: {tid: producer}  # type: ignore[method-assign]

    await manager._abort_forgotten(tid)

    assert producer.calls == [
        "add order-events[0]",
        "add order-events[1]",
        f"offsets of {app.conf.id}",
        "abort",
        "begin",
    ]
