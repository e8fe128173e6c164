"""A commit round: transactions commit together; events that can repeat are checked for it.

The producers here are stand-ins recording what they were asked (no broker): what is
under test is the order and concurrency of the calls our producer makes. Set
ES_TEST_EXACTLY_ONCE_REPAIRS=-concurrent-commits to see the first test fail,
-confirmed-commits to see a transaction begin after a commit whose marker a partition never
got, -overlapped-commits to see the
offsets wait for the records and a changelog partition join its transaction at commit,
and -linger-until-commit to see a transaction's records sent before its commit.
"""

import asyncio
import itertools
import weakref
from pathlib import Path

import faust
import pytest
from aiokafka.producer.sender import Sender
from faust import streams as faust_streams
from faust.transport import consumer as faust_consumer
from faust.types import TP
from faust.types.tuples import Message
from prometheus_client import REGISTRY

from ecommerce_streams.exactly_once.confirmed_commits import HeldSender, UnconfirmedCommit
from ecommerce_streams.exactly_once.gate import TransactionPoisoned
from ecommerce_streams.exactly_once.leftovers import group_offsets_partition, last_commit, note_path
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


@pytest.fixture(autouse=True)
def markers_that_show(monkeypatch: pytest.MonkeyPatch) -> set[TP]:
    """No broker here: logs end at 0, and every commit's markers show but in the partitions
    a test puts in the returned set."""
    import ecommerce_streams.exactly_once.confirmed_commits as confirmed_commits
    import ecommerce_streams.exactly_once.producer as module

    missing: set[TP] = set()

    async def log_ends(client: object, tps: set[TP]) -> dict[TP, int]:
        return dict.fromkeys(tps, 0)

    async def unconfirmed(client: object, pid: int, epoch: int, ends: dict[TP, int]) -> set[TP]:
        return missing & set(ends)

    monkeypatch.setattr(module, "log_ends", log_ends)
    monkeypatch.setattr(confirmed_commits, "unconfirmed", unconfirmed)
    return missing


class TransactionProducer:
    """Records its calls; its offsets request waits until every producer has sent its own."""

    def __init__(self, everyone_sent: asyncio.Barrier, calls: list[str], name: str) -> None:
        self._everyone_sent = everyone_sent
        self._calls = calls
        self._name = name
        self._txn_manager = RecordingTransaction(calls, set())
        self.client = None
        self._sender = HeldSender.__new__(HeldSender)

    async def send_offsets_to_transaction(self, offsets: object, group_id: str) -> None:
        """Take part in the round; only concurrent commits ever get past the barrier."""
        self._calls.append(f"{self._name}: offsets")
        await self._everyone_sent.wait()

    async def commit_transaction(self) -> None:
        """Record the commit."""
        self._calls.append(f"{self._name}: commit")

    async def partitions_for(self, topic: str) -> set[int]:
        """The partitions of ``__consumer_offsets``."""
        return set(range(4))

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

    def partitions_to_add(self) -> set[TP]:
        """Partitions written whose AddPartitionsToTxn has not been answered (none)."""
        return set()

    def maybe_add_partition_to_txn(self, tp: TP) -> None:
        """Record a partition joining the transaction."""
        self._calls.append(f"add {tp.topic}[{tp.partition}]")

    def notify_task_waiter(self) -> None:
        """Wake the sender (nothing to wake here)."""


class RecordingProducer:
    """A transactional producer stand-in that wrote to order-events[3] and shipments[3]."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        written = {TP("order-events", 3), TP("shipments", 3)}
        self._txn_manager = RecordingTransaction(self.calls, written)
        self.client = None
        self._sender = HeldSender.__new__(HeldSender)

    async def send_offsets_to_transaction(self, offsets: object, group_id: str) -> None:
        """Record the offsets joining the transaction."""
        self.calls.append(f"offsets {offsets}")

    async def commit_transaction(self) -> None:
        """Record the commit."""
        self.calls.append("commit")

    async def partitions_for(self, topic: str) -> set[int]:
        """The partitions of ``__consumer_offsets``."""
        return set(range(4))

    async def begin_transaction(self) -> None:
        """Record the next transaction's start."""
        self.calls.append("begin")


def producer_committing_for(recording: RecordingProducer) -> SettlingProducer:
    """An app's producer whose one transaction is ``recording``'s."""
    producer = producer_of_app()
    producer._transaction_producers = {"shop-0-3": recording}
    producer._trn_locks = {"shop-0-3": asyncio.Lock()}
    return producer


async def commit(producer: SettlingProducer) -> None:
    """Commit the transaction: offset 42 of orders[3] for group ``shop``."""
    await producer.commit_transactions({"shop-0-3": {TP("orders", 3): 42}}, "shop")


async def test_the_next_transaction_reaches_the_coordinator_once_the_commits_markers_showed() -> (
    None
):
    recording = RecordingProducer()
    producer = producer_committing_for(recording)

    await commit(producer)
    held = recording._sender.markers_seen  # the next transaction, held until they show
    assert held is not None
    await producer._confirmations["shop-0-3"][1]

    assert held.result() is True
    assert recording.calls == [f"offsets { ({TP('orders', 3): 42}) }", "commit", "begin"]


async def test_a_commit_whose_marker_a_partition_never_got_is_followed_by_no_other(
    markers_that_show: set[TP],
) -> None:
    markers_that_show.add(TP("shipments", 3))
    recording = RecordingProducer()
    producer = producer_committing_for(recording)
    await commit(producer)

    with pytest.raises(UnconfirmedCommit, match=r"shipments\[3\]"):
        await commit(producer)

    assert recording._sender.markers_seen is not None
    assert recording._sender.markers_seen.result() is False  # held for good
    assert recording.calls == [f"offsets { ({TP('orders', 3): 42}) }", "commit", "begin"]


def markers_seen_count() -> float:
    """How many commits the worker's metrics saw confirmed so far."""
    return REGISTRY.get_sample_value("es_commit_markers_seen_seconds_count") or 0.0


async def test_how_long_a_commits_markers_took_to_show_is_measured_only_when_they_all_did(
    markers_that_show: set[TP],
) -> None:
    producer = producer_committing_for(RecordingProducer())
    before = markers_seen_count()
    await commit(producer)
    await producer._confirmations["shop-0-3"][1]
    confirmed = markers_seen_count()
    markers_that_show.add(TP("shipments", 3))
    await commit(producer)
    with pytest.raises(UnconfirmedCommit):
        await producer._confirmations["shop-0-3"][1]

    assert confirmed == before + 1
    assert markers_seen_count() == confirmed


async def test_a_commit_left_unconfirmed_is_noted_for_the_next_epoch(
    markers_that_show: set[TP],
) -> None:
    markers_that_show.add(TP("__consumer_offsets", group_offsets_partition("shop", 4)))
    producer = producer_committing_for(RecordingProducer())
    await commit(producer)

    with pytest.raises(UnconfirmedCommit):
        await commit(producer)

    note = last_commit(note_path(Path(producer.app.conf.datadir), "shop-0-3"))
    assert note is not None and (note.producer_id, note.producer_epoch) == (1, 0)


async def test_a_commit_by_the_producer_that_replaced_an_unconfirmed_one_goes_ahead(
    markers_that_show: set[TP],
) -> None:
    markers_that_show.add(TP("shipments", 3))
    producer = producer_committing_for(RecordingProducer())
    await commit(producer)
    successor = RecordingProducer()  # a rebalance stopped the first; its leftovers sealed
    producer._transaction_producers["shop-0-3"] = successor
    markers_that_show.clear()

    await commit(producer)

    assert successor.calls == [f"offsets { ({TP('orders', 3): 42}) }", "commit", "begin"]


def test_a_held_sender_sends_nothing_to_the_coordinator_until_the_markers_showed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Sender, "_maybe_do_transactional_request", lambda self: "request")
    sender = HeldSender.__new__(HeldSender)
    loop = asyncio.new_event_loop()
    try:
        sender.markers_seen = loop.create_future()
        assert sender._maybe_do_transactional_request() is None
        sender.markers_seen.set_result(True)
        assert sender._maybe_do_transactional_request() == "request"
        sender.markers_seen = loop.create_future()
        sender.markers_seen.set_result(False)
        assert sender._maybe_do_transactional_request() is None
    finally:
        loop.close()


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


class SlowOffsetsProducer(RecordingProducer):
    """A producer whose offsets are answered only once the test says so."""

    def __init__(self) -> None:
        super().__init__()
        self.offsets_answered = asyncio.get_running_loop().create_future()

    async def send_offsets_to_transaction(self, offsets: object, group_id: str) -> None:
        """Record the offsets, then wait for their answer."""
        await super().send_offsets_to_transaction(offsets, group_id)
        await self.offsets_answered


async def test_where_the_logs_end_is_read_once_the_records_are_acknowledged_beside_the_offsets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ecommerce_streams.exactly_once.producer as module

    recording = SlowOffsetsProducer()
    producer = producer_committing_for(recording)
    records_acknowledged = asyncio.get_running_loop().create_future()
    outbox_of(producer.app)._acknowledging = records_acknowledged  # step 2 under way

    async def log_ends(client: object, tps: set[TP]) -> dict[TP, int]:
        recording.calls.append("log ends")
        return dict.fromkeys(tps, 0)

    monkeypatch.setattr(module, "log_ends", log_ends)
    committing = asyncio.create_task(commit(producer))
    await asyncio.sleep(0.01)
    assert "log ends" not in recording.calls, "the log ends were read below the records"

    records_acknowledged.set_result(None)
    await asyncio.sleep(0.01)
    assert "log ends" in recording.calls, "the log ends waited for the offsets"
    assert "commit" not in recording.calls

    recording.offsets_answered.set_result(None)
    await asyncio.wait_for(committing, timeout=5)
    assert recording.calls[-2:] == ["commit", "begin"]


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


async def test_committing_offsets_formats_no_table_of_them_and_drops_revoked_partitions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    consumer = flowing_app().consumer
    committed: list[dict[TP, int]] = []
    tables: list[object] = []

    async def commit_in_transactions(offsets: dict[TP, int], start_new_transaction: bool) -> bool:
        committed.append(dict(offsets))
        return True

    def logtable(*args: object, **kwargs: object) -> str:
        tables.append(args)
        return ""

    monkeypatch.setattr(faust_consumer.terminal, "logtable", logtable)
    monkeypatch.setattr(consumer, "assignment", lambda: {ORDER_EVENTS_6})
    monkeypatch.setattr(consumer.transactions, "commit", commit_in_transactions)

    assert await consumer._commit_offsets({ORDER_EVENTS_6: 5, TP("order-events", 7): 9})

    assert tables == []
    assert committed == [{ORDER_EVENTS_6: 5}]
    assert consumer._committed_offset[ORDER_EVENTS_6] == 5
    assert TP("order-events", 7) not in consumer._committed_offset
