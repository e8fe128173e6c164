"""Exactly-once processing on top of Faust: the one place where commit ordering lives.

Faust's ``processing_guarantee="exactly_once"`` runs one transactional producer per
assigned partition (``transactional_id = "{app id}-{topic group}-{partition}"``) and
commits consumer offsets inside those transactions. Read against its code
(``faust/transport/consumer.py``, ``faust/transport/drivers/aiokafka.py``), fourteen
gaps break the guarantee or liveness; each is closed here by a small subclass, never a
fork:

1. **Outputs join the wrong transaction** (faust-streaming #177, #323). ``send`` picks
   the producer of the *destination* partition, so ``ReserveStock`` emitted while
   processing ``orders`` partition 3 for a sku on partition 5 commits with partition
   5's offsets, and sends to topics the app does not consume leave outside any
   transaction. :class:`SourceTransactionManager` picks the producer of the partition
   the current event came from, so every output commits with its input's offset.
2. **Table changelogs are committed late or never.** Tables write their changelog with
   ``send_soon`` into a buffer drained by a background task; the EOS commit does not
   wait for it, so a changelog record can land in the *next* transaction (or be lost
   with the process). :class:`SettlingProducer` tracks every buffered record and the
   commit waits until each one is acknowledged before sending offsets.
3. **Commits race with processing.** The commit timer fires while an agent is half way
   through an event: that event's outputs already sit in the transaction, its offset
   does not, so a crash after the commit replays it and duplicates its outputs.
   :class:`ProcessingGate` makes commits and units of work take turns: an agent
   processes and acknowledges each event inside :func:`unit_of_work`, and
   :class:`GatedConsumer` commits only between units.
4. **Failures are logged, not fatal.** Faust only crashes on ``ProducerFenced``; any
   other error in begin/commit is logged and processing continues on a broken
   transaction, while the local RocksDB state is already ahead of what Kafka
   committed. Here any error in a unit of work or a commit *poisons* the gate (no
   further commit can happen) and crashes the worker. Local state is never trusted
   after a crash: :func:`discard_local_state` wipes it at start-up and the tables are
   restored from their read-committed changelogs.
5. **Recovery can restore nothing.** Faust reads a changelog's end from the consumer's
   cached last stable offset, unknown (-1) until the partition was fetched once, so a
   fresh worker can declare its tables restored while they are empty.
   :class:`CommittedEndThread` asks the broker for the last stable offsets instead.
6. **Recovery can restore part of a partition** and serve it: it ends on the fetch
   position, not on applied records, drops fetched records on a rebalance, and keeps
   stale start offsets. :class:`~ecommerce_streams.table_recovery.CompleteRecovery`
   restores active partitions with its own read-committed consumer before Faust does.
7. **Revoked partitions keep their files**, which can hold writes of a transaction
   that was then aborted. :class:`FreshPartitionStore` deletes them on revocation.
8. **The revocation commit commits nothing.** On a rebalance Faust forgets the
   acknowledged offsets of every revoked partition (all of them, with eager
   rebalancing) *before* its revocation commit, which then finds nothing to commit.
   The transactions stay open across the rebalance, and the seek back to the
   committed offsets processes their events a second time: dead letters, which no
   event id deduplicates, come out twice. Faust also holds a partition's commit at
   the first hole in its acknowledged offsets. :class:`GatedConsumer` commits, per
   partition, the offset after the last event a unit of work finished (units run in
   offset order, so that is exact), at revocation too.
10. **A message two agents read is committed when the first finishes.** The
    notifications and analytics agents both read order-events; the processed offset
    moved with whichever finished first, so a commit could pass records the other had
    not processed (lost analytics records). :func:`settle_ack` counts a message as
    processed only when Faust reports the last of its readers' acks.
11. **A revocation can wait forever.** Faust empties the streams' queues, then waits
    until every message handed to a stream is acknowledged: a message one agent
    processed and the other still had queued never is. :meth:`GatedConsumer.wait_empty`
    waits for the units in flight only and forgets the rest, which were never counted
    as processed and are fetched again after the seek; an event that waited at the gate
    while the rebalance began is not processed (:func:`process_event`).
12. **A seek can hit a partition a newer rebalance took away** (``IllegalStateError``,
    then a poisoned transaction): such a partition is skipped; the newer rebalance
    seeks it.
13. **Faust's slow-processing check crashes the worker** by reading the position of a
    partition that has none yet (an aiokafka assertion): :class:`CommittedEndThread`
    skips such partitions.
14. **A wedged worker never exits.** Faust commits while a revocation waits, which
    looked like progress to the watchdog, and a worker that ignored SIGTERM ran on.
    :class:`Watchdog` counts only processed events and restore steps as progress of a
    rebalance and bounds the time from a stop request to the exit.

The commit, in order (``GatedConsumer.commit``):

    close the gate to new units  ->  wait for units in flight to finish
    ->  wait until every buffered changelog record is acknowledged (SettlingProducer)
    ->  per transactional producer: send offsets of its partitions, commit, begin next
    ->  only then persist the committed changelog offsets locally (Faust's on_commit)
    ->  open the gate

Zombies are fenced by the per-partition transactional id: a worker that takes over a
partition initialises the same id, which aborts the previous owner's open
transaction and makes its next commit fail with ``ProducerFenced`` (a crash, above).
"""

import asyncio
import contextlib
import logging
import os
import shutil
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

import faust
import faust.stores
from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError
from faust.stores import rocksdb as rocksdb_store
from faust.transport.consumer import TransactionManager, ensure_TP
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, AppT, EventT
from faust.types.tuples import FutureMessage, RecordMetadata

from ecommerce_streams import metrics

logger = logging.getLogger(__name__)


class Repair(StrEnum):
    """The gaps closed here; each can be switched off to show what it prevents."""

    SOURCE_TRANSACTIONS = "source-transactions"
    SETTLED_CHANGELOGS = "settled-changelogs"
    COMMIT_GATE = "commit-gate"
    FAIL_FAST = "fail-fast"
    FRESH_STATE = "fresh-state"
    COMMITTED_ENDS = "committed-ends"
    COMPLETE_RESTORE = "complete-restore"
    PROCESSED_OFFSETS = "processed-offsets"
    SHARED_INPUTS = "shared-inputs"
    ABANDONED_MESSAGES = "abandoned-messages"


def parse_repairs(spec: str) -> frozenset[Repair]:
    """``all``, ``none``, or a comma list of repair names; ``-name`` removes one from all."""
    names = [part.strip() for part in spec.split(",") if part.strip()]
    if names in (["all"], []):
        return frozenset(Repair)
    if names == ["none"]:
        return frozenset()
    if all(name.startswith("-") for name in names):
        return frozenset(Repair) - {Repair(name[1:]) for name in names}
    return frozenset(Repair(name) for name in names)


def repaired(app: AppT, repair: Repair) -> bool:
    """Whether the app runs with this repair (all of them unless told otherwise)."""
    return repair in getattr(app, "exactly_once_repairs", frozenset(Repair))


class TransactionPoisoned(RuntimeError):
    """A unit of work or commit failed: nothing more may commit in this process."""


class ProcessingGate:
    """Lets units of work (one event each) and transaction commits take turns."""

    def __init__(self) -> None:
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._open = asyncio.Event()
        self._open.set()
        self._commit_lock = asyncio.Lock()
        self.poisoned: BaseException | None = None
        #: When a unit of work or a commit last finished (stall detection).
        self.last_progress = time.monotonic()
        #: When an event was last processed or a restore step applied: commits alone
        #: (Faust keeps committing while a revocation waits) are not progress of a rebalance.
        self.last_work = time.monotonic()
        #: When the worker was asked to stop (SIGTERM/SIGINT), if it was.
        self.stop_requested_at: float | None = None
        #: Per source partition, the offset after the last event processed to the end.
        self.processed: dict[TP, int] = {}

    def record_processed(self, tp: TP, offset: int) -> None:
        """Remember that the event at ``offset`` of ``tp`` was processed to the end."""
        self.processed[tp] = offset + 1  # units of a partition run in offset order

    def forget_partitions(self, tps: Iterable[TP]) -> None:
        """Drop partitions this worker no longer owns."""
        for tp in tps:
            self.processed.pop(tp, None)

    def forget_committed(self, offsets: Mapping[TP, int]) -> None:
        """Drop partitions whose processed offset is now committed."""
        for tp, offset in offsets.items():
            if self.processed.get(tp) == offset:
                del self.processed[tp]

    @property
    def busy(self) -> bool:
        """Whether a unit of work or a commit is under way."""
        return bool(self._in_flight) or not self._open.is_set()

    def note_progress(self) -> None:
        """Record progress made outside units of work (a table restore step)."""
        self.last_progress = self.last_work = time.monotonic()

    async def wait_idle(self) -> None:
        """Wait until no unit of work is in flight."""
        await self._idle.wait()

    def stalled_for(self) -> float:
        """Seconds the gate has been busy without a unit or commit finishing (0 if idle)."""
        return time.monotonic() - self.last_progress if self.busy else 0.0

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[None]:
        """Hold the gate open while one event is processed."""
        while not self._open.is_set():
            await self._open.wait()
        self._in_flight += 1
        self._idle.clear()
        try:
            yield
        except BaseException as exc:
            self.poison(exc)
            raise
        finally:
            self._in_flight -= 1
            self.last_progress = self.last_work = time.monotonic()
            if not self._in_flight:
                self._idle.set()

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """Close the gate, wait for units in flight, and hold it closed for a commit."""
        async with self._commit_lock:
            self._raise_if_poisoned()
            self._open.clear()
            try:
                await self._idle.wait()
                self._raise_if_poisoned()
                try:
                    yield
                except BaseException as exc:
                    self.poison(exc)
                    raise
            finally:
                self.last_progress = time.monotonic()
                self._open.set()

    def poison(self, exc: BaseException) -> None:
        """Forbid every further commit in this process."""
        if self.poisoned is None and not isinstance(exc, asyncio.CancelledError):
            logger.error("exactly-once: no further commit in this process after %r", exc)
            self.poisoned = exc

    def _raise_if_poisoned(self) -> None:
        if self.poisoned is not None:
            metrics.transactions_aborted.inc()
            raise TransactionPoisoned(
                f"refusing to commit after an earlier failure: {self.poisoned!r}"
            ) from self.poisoned


def gate_of(app: AppT) -> ProcessingGate:
    """The app's processing gate, created on first use."""
    gate = getattr(app, "_es_processing_gate", None)
    if gate is None:
        gate = ProcessingGate()
        app._es_processing_gate = gate  # type: ignore[attr-defined]
    return gate


def is_current(app: AppT, event: EventT) -> bool:
    """Whether the event was fetched in this generation and no rebalance has begun since."""
    message = event.message
    return bool(
        app.flow_control.is_active() and message.generation_id == app.consumer_generation_id
    )


def settle_ack(gate: ProcessingGate, event: EventT) -> None:
    """Acknowledge the event; once every stream reading it has, count it as processed.

    Two agents can read one topic (notifications and analytics both read order-events).
    Faust counts a message's readers and reports the last one's ack (gap 10): only then
    may the partition's commit move past it. Each stream takes its messages in offset
    order, so last acks come in offset order too and ``processed`` stays exact.
    """
    if event.ack():
        gate.record_processed(event.message.tp, event.message.offset)


async def process_event(app: AppT, event: EventT, work: Callable[[], Awaitable[None]]) -> None:
    """Process one event atomically: acknowledge it only when its effects are all sent.

    The stream must be opened with ``stream.noack()`` so that this is the only ack.
    An event that waited at the gate while a rebalance began is not processed (gap 11):
    it is fetched again after the rebalance's seek, by whichever worker owns it then.
    An exception poisons the gate and crashes the worker, so the half-done event's
    transaction is never committed.
    """
    gate = gate_of(app)
    if not repaired(app, Repair.FAIL_FAST):
        await work()
        settle_ack(gate, event)
        return
    try:
        async with gate.unit():
            if repaired(app, Repair.ABANDONED_MESSAGES) and not is_current(app, event):
                event.ack()  # releases Faust's reference; never counted as processed
                return
            await work()
            if repaired(app, Repair.SHARED_INPUTS):
                settle_ack(gate, event)
            else:
                event.ack()
                gate.record_processed(event.message.tp, event.message.offset)
    except asyncio.CancelledError:
        raise
    except BaseException as exc:
        await app.crash(exc)
        raise


#: The partition of the event whose buffered table write is being sent right now.
_buffered_source: ContextVar[TP | None] = ContextVar("es_buffered_source", default=None)


class SettlingProducer(faust_aiokafka.Producer):
    """Producer whose buffered (``send_soon``) records keep their event's transaction.

    Tables write changelogs with ``send_soon`` from the agent, and a background task
    sends them later, when no event is current. Each record therefore remembers the
    partition of the event that wrote it, and is sent in that partition's transaction.
    The commit waits (:meth:`settle`) until every buffered record is acknowledged.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._unsettled: dict[FutureMessage, TP | None] = {}
        super().__init__(*args, **kwargs)
        self.buffer._send_pending = self._send_buffered  # type: ignore[method-assign]

    def send_soon(self, fut: FutureMessage) -> None:
        """Buffer a record (table changelogs), remembering the event that wrote it."""
        event = faust.current_event()
        self._unsettled[fut] = event.message.tp if event is not None else None
        fut.add_done_callback(self._forget)
        super().send_soon(fut)

    def _forget(self, fut: asyncio.Future[Any]) -> None:
        self._unsettled.pop(fut, None)  # type: ignore[call-overload]

    async def _send_buffered(self, fut: FutureMessage) -> None:
        token = _buffered_source.set(self._unsettled.get(fut))
        try:
            await fut.message.channel.publish_message(fut, wait=False)
        finally:
            _buffered_source.reset(token)

    async def settle(self) -> None:
        """Wait until every buffered record is acknowledged; raise if one failed."""
        if not repaired(self.app, Repair.SETTLED_CHANGELOGS):
            return
        while self._unsettled:
            pending = list(self._unsettled)
            await asyncio.wait(pending)
            for fut in pending:
                if not fut.cancelled() and fut.exception() is not None:
                    raise fut.exception()  # type: ignore[misc]


class SourceTransactionManager(TransactionManager):
    """Transactions keyed by the partition of the event being processed (gaps 1 and 4)."""

    def _transactional_id(self, tp: TP) -> str:
        group = self.app.assignor.group_for_topic(tp.topic)
        return f"{self.app.conf.id}-{group}-{tp.partition}"

    def _owner_of_send(self, topic: str, partition: int | None) -> str | None:
        event = faust.current_event()
        source = _buffered_source.get() or (event.message.tp if event is not None else None)
        if source is not None:
            return self._transactional_id(source)
        if partition is None:
            return None
        # Neither an event nor a buffered table write: route by destination partition.
        return self._transactional_id(TP(topic, partition))

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: Any,
        *,
        transactional_id: str | None = None,
    ) -> Awaitable[RecordMetadata]:
        """Send inside the transaction of the event being processed."""
        if not repaired(self.app, Repair.SOURCE_TRANSACTIONS):
            return await super().send(topic, key, value, partition, timestamp, headers)
        # An explicit partition (table changelogs) is kept as is: the consumer's
        # key_partition returns None for topics it has no metadata for yet.
        p = partition if partition is not None else self.consumer.key_partition(topic, key)
        owner = self._owner_of_send(topic, p)
        if owner is None:
            raise TransactionPoisoned(f"send to {topic!r} outside any event and partition")
        return await self.producer.send(
            topic, key, value, p, timestamp, headers, transactional_id=owner
        )

    def _open_transactions(self) -> list[str]:
        producers = self.producer._transaction_producers  # type: ignore[attr-defined]
        return [
            tid
            for tid, producer in producers.items()
            if producer._txn_manager is not None and producer._txn_manager.is_in_transaction()
        ]

    async def _start_transactions(self, tids: Iterable[str]) -> None:
        await super()._start_transactions(tids)
        if not repaired(self.app, Repair.FAIL_FAST):
            return
        started = self.producer._transaction_producers  # type: ignore[attr-defined]
        missing = [tid for tid in tids if tid not in started]
        if missing:
            exc = TransactionPoisoned(f"could not begin transactions {missing}")
            gate_of(self.app).poison(exc)
            await self.app.crash(exc)
            raise exc

    async def commit(self, offsets: Mapping[TP, int], start_new_transaction: bool = True) -> bool:
        """Commit each partition's offsets in its own transaction; any failure is fatal."""
        if not repaired(self.app, Repair.FAIL_FAST):
            return await super().commit(offsets, start_new_transaction)
        if self.app.should_stop and not self._open_transactions():
            # Shutting down after the final commit ended every transaction.
            return False
        by_transaction: dict[str, dict[TP, int]] = {}
        for tp, offset in offsets.items():
            by_transaction.setdefault(self._transactional_id(tp), {})[tp] = offset
        started = self.producer._transaction_producers  # type: ignore[attr-defined]
        missing = [tid for tid in by_transaction if tid not in started]
        try:
            if missing:
                raise TransactionPoisoned(f"no open transaction for {missing}")
            await self.producer.commit_transactions(
                by_transaction,
                self.app.conf.id,
                start_new_transaction=start_new_transaction,
            )
        except BaseException as exc:
            metrics.transactions_aborted.inc()
            gate_of(self.app).poison(exc)
            await self.app.crash(exc)
            raise
        metrics.transactions_committed.inc(len(by_transaction))
        return True


class CommittedEndThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Consumer thread that asks the broker for the last stable offsets (gap 5).

    Under exactly-once Faust takes a changelog's end from ``last_stable_offset``,
    which stays unknown until the consumer has fetched that partition: recovery then
    sees an end of -1, declares the table restored at once and the worker serves
    and updates empty tables. ``end_offsets`` asks the broker, which answers the
    last stable offset for a read-committed consumer.
    """

    async def _highwaters(self, partitions: list[TP]) -> Mapping[TP, int]:
        return await self._ensure_consumer().end_offsets(partitions)

    def verify_event_path(self, now: float, tp: TP) -> None:
        """Faust's slow-processing diagnostics, skipped while a partition has no position.

        Faust reads ``position`` of every assigned partition, which aiokafka asserts is
        known; right after a seek to the beginning it is not, and the assertion crashed
        the worker about a second after it became ready (gap 13).
        """
        if position_known(self._ensure_consumer(), tp):
            super().verify_event_path(now, tp)


def position_known(consumer: Any, tp: TP) -> bool:
    """Whether an aiokafka consumer has a fetch position for this partition."""
    assignment = consumer._fetcher._subscriptions.subscription
    assignment = assignment.assignment if assignment is not None else None
    if assignment is None:
        return False
    state = assignment.state_value(TopicPartition(tp.topic, tp.partition))
    return state is not None and state.has_valid_position


class GatedConsumer(faust_aiokafka.Consumer):
    """Consumer whose commits wait for a quiet gate and settled changelogs (gaps 2, 3)."""

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        if not repaired(self.app, Repair.COMMITTED_ENDS):
            return super()._new_consumer_thread()
        return CommittedEndThread(self, loop=self.loop, beacon=self.beacon)

    async def commit(self, topics: Any = None, start_new_transaction: bool = True) -> bool:
        """Commit acknowledged offsets between units of work, after changelogs settle."""
        if not self.in_transaction or not repaired(self.app, Repair.COMMIT_GATE):
            return await super().commit(topics, start_new_transaction=start_new_transaction)
        async with gate_of(self.app).exclusive():
            producer = self.app.producer
            if isinstance(producer, SettlingProducer):
                await producer.settle()
            return await super().commit(topics, start_new_transaction=start_new_transaction)

    def _filter_tps_with_pending_acks(self, topics: Any = None) -> Iterator[TP]:
        # Faust forgets acknowledged offsets of revoked partitions *before* its
        # revocation commit, which then commits nothing: count processed ones instead.
        if not self.in_transaction or not repaired(self.app, Repair.PROCESSED_OFFSETS):
            yield from super()._filter_tps_with_pending_acks(topics)
            return
        for tp in list(gate_of(self.app).processed):
            if topics is None or tp in topics or tp.topic in topics:
                yield tp

    async def wait_empty(self) -> None:
        """Wait for the units of work in flight, then commit and end the transactions.

        Faust waits until every message handed to a stream is acknowledged, but its
        revocation first empties the streams' queues: a message read by two agents
        that one had processed and the other still had queued is never acknowledged,
        and the revocation waited for it forever (gap 11). Here a message no unit has
        taken is simply forgotten: its offset was never counted as processed, so it is
        fetched again after the seek.
        """
        if not self.in_transaction or not repaired(self.app, Repair.ABANDONED_MESSAGES):
            return await super().wait_empty()
        await gate_of(self.app).wait_idle()
        self._unacked_messages.clear()
        await self.commit_and_end_transactions()
        return None

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        """Commit what was processed (Faust's revocation path), then forget revoked partitions."""
        await super().on_partitions_revoked(revoked)
        gate_of(self.app).forget_partitions(revoked)

    async def perform_seek(self) -> None:
        """Seek stream partitions to where processing stands, with no record in between (gap 9)."""
        if not self.in_transaction or not repaired(self.app, Repair.PROCESSED_OFFSETS):
            return await super().perform_seek()
        gate = gate_of(self.app)
        self.stop_flow()  # Faust resumes the flow once the streams are ready
        async with gate.exclusive():
            committed = await self.seek_to_committed()  # keyed by aiokafka partitions
            from_start = []
            for kafka_tp, offset in committed.items():
                tp = ensure_TP(kafka_tp)
                if self._is_changelog_tp(tp):
                    continue  # restored and paused by recovery, not streamed
                here = gate.processed.get(tp)
                if here is not None and (offset is None or here > offset):
                    if not await self._seek_if_assigned(kafka_tp, here):
                        continue
                    self._read_offset[tp] = here  # its open transaction holds the rest
                elif offset is None or offset <= 0:
                    from_start.append(kafka_tp)  # Kafka's seek to committed skips these
                    self._read_offset[tp] = None
                else:
                    self._read_offset[tp] = offset
                if offset:
                    self._committed_offset[tp] = offset
            if from_start:
                await self._seek_to_beginning_if_assigned(from_start)
        return None

    async def _seek_if_assigned(self, kafka_tp: Any, offset: int) -> bool:
        """Seek, unless a newer rebalance took the partition away meanwhile (gap 12)."""
        try:
            await self._seek(kafka_tp, offset)
        except IllegalStateError as gone:
            logger.info("exactly-once: not seeking %s: %s", kafka_tp, gone)
            return False
        return True

    async def _seek_to_beginning_if_assigned(self, kafka_tps: list[Any]) -> None:
        try:
            await self._thread.seek_to_beginning(*kafka_tps)
        except IllegalStateError:
            # One of them left with a newer rebalance; seek the others one by one.
            for kafka_tp in kafka_tps:
                with contextlib.suppress(IllegalStateError):
                    await self._thread.seek_to_beginning(kafka_tp)

    def _filter_committable_offsets(self, tps: Iterable[TP]) -> dict[TP, int]:
        """Offsets to commit: after the last event processed, per partition (gap 8)."""
        if not self.in_transaction or not repaired(self.app, Repair.PROCESSED_OFFSETS):
            return super()._filter_committable_offsets(tps)
        processed = gate_of(self.app).processed
        offsets = {}
        for tp in tps:
            offset = processed.get(tp)
            if offset is not None:
                self._forget_acks_below(tp, offset)
                if self._should_commit(tp, offset):
                    offsets[tp] = offset
        return offsets

    def _forget_acks_below(self, tp: TP, offset: int) -> None:
        acked = self._acked[tp]
        done = [acked_offset for acked_offset in acked if acked_offset < offset]
        if done:
            acked[:] = [acked_offset for acked_offset in acked if acked_offset >= offset]
            self._acked_index[tp].difference_update(done)
        self._gap[tp].chop(0, offset)

    async def _commit_offsets(
        self, offsets: Mapping[TP, int], start_new_transaction: bool = True
    ) -> bool:
        did_commit = await super()._commit_offsets(offsets, start_new_transaction)
        if did_commit:
            gate_of(self.app).forget_committed(offsets)
        return did_commit


class ExactlyOnceTransport(faust_aiokafka.Transport):
    """The aiokafka transport with the corrected consumer, producer and transactions."""

    Consumer: ClassVar[type] = GatedConsumer
    Producer: ClassVar[type] = SettlingProducer
    TransactionManager: ClassVar[type] = SourceTransactionManager


class StopNotingWorker(faust.Worker):
    """Faust's worker, noting on the gate when it is asked to stop (SIGTERM, SIGINT)."""

    def _schedule_shutdown(self, signal: Any) -> None:
        gate = gate_of(self.app)
        if gate.stop_requested_at is None:
            gate.stop_requested_at = time.monotonic()
        super()._schedule_shutdown(signal)


@dataclass
class Watchdog:
    """Decides when a worker that neither works nor exits must exit; time comes in.

    A worker is stuck when it crashed or was asked to stop and is still running after
    ``grace_seconds``; when a unit of work or a commit has been busy for
    ``stall_seconds`` without finishing; or when a rebalance or table recovery has
    processed no event and restored nothing for twice that. Commits do not count as
    progress of a rebalance: Faust keeps committing while a revocation waits (gap 14).
    """

    stall_seconds: float
    grace_seconds: float
    crashed_at: float | None = None
    settling_since: float | None = None

    def verdict(
        self,
        now: float,
        *,
        crashed: bool,
        stop_requested_at: float | None,
        stalled_for: float,
        settling: bool,
        last_work: float,
    ) -> str | None:
        """Why the worker must exit now, or None while it is alive."""
        if crashed and self.crashed_at is None:
            self.crashed_at = now
        if self.crashed_at is not None and now - self.crashed_at > self.grace_seconds:
            return f"crashed worker did not stop in {self.grace_seconds:g}s"
        if stop_requested_at is not None and now - stop_requested_at > self.grace_seconds:
            return f"worker asked to stop was still running after {self.grace_seconds:g}s"
        if stalled_for > self.stall_seconds:
            return f"no unit of work or commit finished for {self.stall_seconds:g}s"
        if not settling:
            self.settling_since = None
            return None
        if self.settling_since is None:
            self.settling_since = now
        if now - max(self.settling_since, last_work) > 2 * self.stall_seconds:
            return f"rebalance or table recovery made no progress for {2 * self.stall_seconds:g}s"
        return None


def exit_when_stuck(
    app: AppT, *, grace_seconds: float = 20.0, stall_seconds: float = 60.0
) -> threading.Thread:
    """Make sure a crashed, stalled or wedged worker process exits, so it is restarted.

    Faust marks the app crashed and starts a graceful shutdown, which can hang waiting
    for streams that will never ack; a transactional call to a broker that came back
    can wait forever while the consumer thread keeps heartbeating, so the group never
    moves the partitions away; and a revocation can wait forever. A process that
    neither works nor exits is invisible to an orchestrator. This daemon thread asks
    :class:`Watchdog` twice a second and exits the process when it says so. Nothing
    is committed on that path, which is safe: open transactions are aborted when the
    partitions' next owner fences them.
    """
    gate = gate_of(app)  # created here, before the event loop can race to create another
    watchdog = Watchdog(stall_seconds=stall_seconds, grace_seconds=grace_seconds)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            reason = watchdog.verdict(
                time.monotonic(),
                crashed=app._crashed.is_set() or gate.poisoned is not None,  # type: ignore[attr-defined]
                stop_requested_at=gate.stop_requested_at,
                stalled_for=gate.stalled_for(),
                settling=bool(app.rebalancing or app.in_recovery),
                last_work=gate.last_work,
            )
            if reason is not None:
                break
        logger.critical("exactly-once: %s; exiting so the worker is restarted", reason)
        logging.shutdown()
        os._exit(70)

    thread = threading.Thread(target=watch, name="exit-when-stuck", daemon=True)
    thread.start()
    return thread


class FreshPartitionStore(rocksdb_store.Store):
    """RocksDB store that forgets a table partition when the worker loses it (gap 7).

    Faust keeps a revoked partition's RocksDB files and, if the partition comes back,
    restores only the changelog written since its own last commit. Those files can
    hold writes whose transaction was then aborted (the partition moved away before
    its commit), so the table would resurrect effects that never happened. Deleting
    the partition's files on revocation makes a returning partition restore from
    the read-committed changelog alone.

    It opens its databases with the app's ``rocksdb_options`` (Faust's defaults give
    every table partition 3 x 64 MiB of memtables and a 2 GiB block cache).

    The store also remembers which partitions are *current*: restored completely and
    owned without a break since. Their files hold this worker's own writes, some of
    them in a transaction still open, so they must never be restored over again.
    """

    def __init__(
        self, url: Any, app: AppT, table: Any, *, options: Any = None, **kwargs: Any
    ) -> None:
        # the app's memory budget, unless the table sets its own
        options = {**getattr(app, "rocksdb_options", {}), **(options or {})}
        super().__init__(url, app, table, options=options, **kwargs)
        self._current: set[int] = set()

    def is_current(self, partition: int) -> bool:
        """Whether this partition was restored and has been owned without a break since."""
        return partition in self._current

    def mark_current(self, partition: int) -> None:
        """Record that this partition holds every committed record of its changelog."""
        self._current.add(partition)

    def revoke_partitions(self, table: Any, tps: set[TP]) -> None:
        """Close and delete the files of each revoked partition of this table."""
        for tp in tps:
            if tp.topic in table.changelog_topic.topics:
                self._current.discard(tp.partition)
        if not repaired(self.app, Repair.FRESH_STATE):
            return super().revoke_partitions(table, tps)
        for tp in tps:
            if tp.topic in table.changelog_topic.topics:
                db = self._dbs.pop(tp.partition, None)
                if db is not None:
                    db.close()
                shutil.rmtree(self.partition_path(tp.partition), ignore_errors=True)
        self._key_index.clear()
        return None


faust.stores.STORES.aliases["fresh-rocksdb"] = f"{__name__}:FreshPartitionStore"


def discard_local_state(tabledir: Path) -> bool:
    """Delete local table state so tables restore from their read-committed changelogs.

    After a crash the RocksDB files may hold writes of transactions that were aborted;
    Faust would keep them and re-read only the changelog tail. Returns whether
    anything was deleted.
    """
    if not tabledir.exists():
        return False
    shutil.rmtree(tabledir)
    return True
