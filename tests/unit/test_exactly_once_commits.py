"""A commit round: transactions commit together; events that can repeat are checked for it.

The producers here are stand-ins recording what they were asked (no broker): what is
under test is the order and concurrency of the calls our producer makes. Set
ES_TEST_EXACTLY_ONCE_REPAIRS=-concurrent-commits to see the first test fail,
-sealed-commits to see a slow commit left unsealed, -overlapped-commits to see the
offsets wait for the records and a changelog partition join its transaction at commit,
and -linger-until-commit to see a transaction's records sent before its commit.
"""

import asyncio
import itertools
import types
import weakref

import faust
import pytest
from faust import streams as faust_streams
from faust.types import TP
from faust.types.tuples import Message

from ecommerce_streams.exactly_once.gate import TransactionPoisoned
from ecommerce_streams.exactly_once.outbox import outbox_of
from ecommerce_streams.exactly_once.producer import SettlingProducer
from ecommerce_streams.worker.app import settings
from ecommerce_streams.worker.pipeline import topics_read_by_several_agents
from ecommerce_streams.worker.run import load_services
from models.redrive import REDRIVEN_HEADER
from tables import seen
from tests.unit.exactly_once_app import ORDER_EVENTS_6, exactly_once_app, flowing_app, message_of

_app_ids = itertools.count()
SHARED = frozenset({settings.topics.order_events})


class TransactionProducer:
    """Records its calls; its offsets request waits until every producer has sent its own."""

    def __init__(self, everyone_sent: asyncio.Barrier, calls: list[str], name: str) -> None:
        self._everyone_sent = everyone_sent
        self._calls = calls
        self._name = name
        self._txn_manager = RecordingTransaction(calls, set())

    async def send_offsets_to_transaction(self, offsets: object, group_id: str) -> None:
        """Take part in the round; only concurrent commits ever get past the barrier."""
        self._calls.append(f"{self._name}: offsets")
        await self._everyone_sent.wait()

    async def commit_transaction(self) -> None:
        """Record the commit."""
        self._calls.append(f"{self._name}: commit")

    async def begin_transaction(self) -> None:
        """Record the next transaction's start."""
        self._calls.append(f"{self._name}: begin")


def producer_of_app() -> SettlingProducer:
    """The exactly-once producer of a fresh app, never started."""
    app = exactly_once_app("commit-test")
    producer = app.producer
    assert isinstance(producer, SettlingProducer)
    return producer


def test_a_transactions_records_wait_in_the_producer_for_its_commit() -> None:
    app = flowing_app()
    producer = app.producer
    assert isinstance(producer, SettlingProducer)
    linger_ms = producer._settings_extra().get("linger_ms")
    assert linger_ms == app.conf.broker_commit_interval * 1000


async def test_the_transactions_of_four_partitions_commit_concurrently() -> None:
    producer = producer_of_app()
    calls: list[str] = []
    everyone_sent = asyncio.Barrier(4)
    tids = [f"shop-0-{partition}" for partition in range(4)]
    producer._transaction_producers = {
        tid: TransactionProducer(everyone_sent, calls, tid) for tid in tids
    }
    producer._trn_locks = {tid: asyncio.Lock() for tid in tids}  # as begin_transaction does
    offsets = {tid: {TP("orders", int(tid[-1])): 10} for tid in tids}

    await asyncio.wait_for(producer.commit_transactions(offsets, "shop"), timeout=5)

    for tid in tids:
        mine = [call for call in calls if call.startswith(f"{tid}:")]
        assert mine == [f"{tid}: offsets", f"{tid}: commit", f"{tid}: begin"]


class RecordingTransaction:
    """A transaction manager stand-in: the partitions written, and those added later."""

    def __init__(self, calls: list[str], written: set[TP]) -> None:
        self._calls = calls
        self.txn_partitions = written
        self.open = True
        self.producer_id, self.producer_epoch = 1, 0

    def is_in_transaction(self) -> bool:
        """Whether the transaction is open (a failed commit ends it)."""
        return self.open

    def maybe_add_partition_to_txn(self, tp: TP) -> None:
        """Record a partition joining the transaction."""
        self._calls.append(f"add {tp.topic}[{tp.partition}]")


class RecordingProducer:
    """A transactional producer stand-in that wrote to order-events[3] and shipments[3]."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        written = {TP("order-events", 3), TP("shipments", 3)}
        self._txn_manager = RecordingTransaction(self.calls, written)

    async def send_offsets_to_transaction(self, offsets: object, group_id: str) -> None:
        """Record the offsets joining the transaction."""
        self.calls.append(f"offsets {offsets}")

    async def commit_transaction(self) -> None:
        """Record the commit."""
        self.calls.append("commit")

    async def begin_transaction(self) -> None:
        """Record the next transaction's start."""
        self.calls.append("begin")


async def commit_taking(seconds: float, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Commit one transaction whose commit takes ``seconds``; the producer's calls."""
    import ecommerce_streams.exactly_once.producer as module

    clock = iter([0.0, seconds])
    fake_time = types.SimpleNamespace(monotonic=lambda: next(clock), time=lambda: 1_000.0)
    monkeypatch.setattr(module, "time", fake_time)
    producer = producer_of_app()
    recording = RecordingProducer()
    producer._transaction_producers = {"shop-0-3": recording}
    producer._trn_locks = {"shop-0-3": asyncio.Lock()}
    await producer.commit_transactions({"shop-0-3": {TP("orders", 3): 42}}, "shop")
    return recording.calls


async def test_a_commit_that_outlived_its_broker_is_sealed_by_a_second_one_over_its_partitions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = await commit_taking(19.0, monkeypatch)

    offsets = f"offsets { ({TP('orders', 3): 42}) }"
    assert calls[:3] == [offsets, "commit", "begin"]
    assert sorted(calls[3:5]) == ["add order-events[3]", "add shipments[3]"]
    assert calls[5:] == [offsets, "commit", "begin"]


async def test_a_quick_commit_is_not_sealed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = await commit_taking(0.05, monkeypatch)

    assert calls == [f"offsets { ({TP('orders', 3): 42}) }", "commit", "begin"]


async def test_a_transactions_offsets_go_out_while_its_records_are_acknowledged() -> None:
    producer = producer_of_app()
    recording = RecordingProducer()
    producer._transaction_producers = {"shop-0-3": recording}
    producer._trn_locks = {"shop-0-3": asyncio.Lock()}
    records_acknowledged = asyncio.get_running_loop().create_future()
    outbox_of(producer.app)._acknowledging = records_acknowledged  # step 2 under way

    commit = asyncio.create_task(
        producer.commit_transactions({"shop-0-3": {TP("orders", 3): 42}}, "shop")
    )
    await asyncio.sleep(0.01)
    offsets = f"offsets { ({TP('orders', 3): 42}) }"
    assert recording.calls == [offsets], "the offsets waited for the records"

    records_acknowledged.set_result(None)
    await asyncio.wait_for(commit, timeout=5)
    assert recording.calls == [offsets, "commit", "begin"]


async def test_a_table_change_joins_its_changelog_partition_to_the_events_transaction_at_once() -> (
    None
):
    app = flowing_app()
    table = app.Table(f"orders-{next(_app_ids)}", partitions=8)
    recording = RecordingProducer()
    outbox = outbox_of(app)
    outbox._producer_for = lambda source: recording  # type: ignore[method-assign]
    event = faust.Event(app, b"ord-1", b"{}", None, message_of(TP("orders", 3), 7))
    faust_streams._current_event.set(weakref.ref(event))

    outbox.change(table, 3, "ord-1", {"status": "placed"})

    assert recording.calls == [f"add {table.changelog_topic.get_topic_name()}[3]"]


async def test_a_table_change_after_a_failed_commit_poisons_the_transaction() -> None:
    app = flowing_app()
    table = app.Table(f"orders-{next(_app_ids)}", partitions=8)
    recording = RecordingProducer()
    recording._txn_manager.open = False  # the commit failed: aiokafka ended the transaction
    outbox = outbox_of(app)
    outbox._producer_for = lambda source: recording  # type: ignore[method-assign]
    event = faust.Event(app, b"ord-1", b"{}", None, message_of(TP("orders", 3), 7))
    faust_streams._current_event.set(weakref.ref(event))

    with pytest.raises(TransactionPoisoned, match="no transaction"):
        outbox.change(table, 3, "ord-1", {"status": "placed"})


def message(topic: str, headers: list[tuple[str, bytes]] | None = None) -> Message:
    """A message of ``topic`` partition 0."""
    return message_of(TP(topic, 0), 0, headers=headers)


def test_events_from_shops_are_checked_for_duplicates() -> None:
    for topic in settings.topics.sources():
        assert seen.guards(message(topic), exactly_once=True, shared_topics=SHARED)


def test_events_on_internal_hops_one_agent_reads_are_not_checked_under_exactly_once() -> None:
    for topic in (settings.topics.inventory_commands, settings.topics.inventory_results):
        assert not seen.guards(message(topic), exactly_once=True, shared_topics=SHARED)


def test_events_two_agents_read_are_checked_as_a_commit_can_pass_the_slower_reader() -> None:
    assert seen.guards(
        message(settings.topics.order_events), exactly_once=True, shared_topics=SHARED
    )


def test_no_topic_of_the_saga_is_read_by_two_agents() -> None:
    load_services()
    assert topics_read_by_several_agents() == frozenset()


def test_a_redriven_event_on_an_internal_hop_is_checked() -> None:
    redriven = message(settings.topics.inventory_commands, [(REDRIVEN_HEADER, b"0:12")])
    assert seen.guards(redriven, exactly_once=True, shared_topics=SHARED)


def test_every_event_is_checked_under_at_least_once() -> None:
    assert seen.guards(
        message(settings.topics.inventory_results), exactly_once=False, shared_topics=SHARED
    )


async def test_a_transactional_commit_counts_for_fausts_slow_commit_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    consumer = flowing_app().consumer

    async def commit_in_transactions(offsets: object, start_new_transaction: bool = True) -> bool:
        return True

    monkeypatch.setattr(consumer, "assignment", lambda: {ORDER_EVENTS_6})
    monkeypatch.setattr(consumer.transactions, "commit", commit_in_transactions)

    assert await consumer._commit_offsets({ORDER_EVENTS_6: 5})

    assert ORDER_EVENTS_6 in consumer._thread.tp_last_committed_at
