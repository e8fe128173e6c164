"""The consumer: commits in order, revocations that end, seeks to where processing stands."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError
from faust.transport.consumer import ensure_TP
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from mode import Service
from mode.services import WaitResults

from ecommerce_streams import metrics
from ecommerce_streams.exactly_once.gate import gate_of
from ecommerce_streams.exactly_once.group_fencing import join_group_fencing, member_of_consumer
from ecommerce_streams.exactly_once.offset_fetch import heed_offset_fetch_errors
from ecommerce_streams.exactly_once.outbox import outbox_of
from ecommerce_streams.exactly_once.producer import SettlingProducer
from ecommerce_streams.exactly_once.repairs import Repair, repaired

logger = logging.getLogger(__name__)

#: The longest a fetch waits at the broker for records to become visible.
FETCH_MAX_WAIT_MS = 100

#: How often a seek to committed offsets is tried while rebalances move partitions away.
SEEK_ATTEMPTS = 5
SEEK_RETRY_SECONDS = 0.1

#: The code of ``asyncio.Event.wait``: how Faust's fetch loop waits for a rebalance.
_EVENT_WAIT = asyncio.Event.wait.__code__


class RepairedConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Consumer thread that asks the broker for last stable offsets and loaded commits.

    Under exactly-once Faust takes a changelog's end from ``last_stable_offset``,
    which stays unknown until the consumer has fetched that partition: recovery then
    sees an end of -1, declares the table restored at once and the worker serves
    and updates empty tables. ``end_offsets`` asks the broker, which answers the
    last stable offset for a read-committed consumer (gap 5). Committed offsets are
    taken only from a coordinator that has loaded them (gap 17, ``offset_fetch.py``).
    """

    async def on_start(self) -> None:
        """Start aiokafka's consumer, its coordinator heeding OffsetFetch's group error."""
        await super().on_start()
        one_producer = repaired(self.app, Repair.WORKER_TRANSACTIONS)
        if repaired(self.app, Repair.LOADED_OFFSETS) or one_producer:
            heed_offset_fetch_errors(self._consumer, stable=one_producer)
        if one_producer:
            join_group_fencing(self.app, member_of_consumer(self._consumer))

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Faust long-polls for 1.5 s. The broker usually answers a read_committed fetch
        # as soon as a commit makes records visible, but not always (about one commit in
        # ten here): then a hop waited the whole poll. Commits now come every few ms.
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer

    async def _highwaters(self, partitions: list[TP]) -> Mapping[TP, int]:
        if not repaired(self.app, Repair.COMMITTED_ENDS):
            return await super()._highwaters(partitions)
        ends: Mapping[TP, int] = await self._ensure_consumer().end_offsets(partitions)
        return ends

    def verify_event_path(self, now: float, tp: TP) -> None:
        """Faust's slow-processing diagnostics, skipped while a partition has no position.

        Faust reads ``position`` of every assigned partition, which aiokafka asserts is
        known; right after a seek to the beginning it is not, and the assertion crashed
        the worker about a second after it became ready (gap 13).
        """
        if position_known(self._ensure_consumer(), tp):
            super().verify_event_path(now, tp)


def _step_done(name: str, since: float) -> float:
    """Note how long a commit step took (``es_commit_step_seconds``); now, for the next."""
    now = time.monotonic()
    metrics.labelled(metrics.commit_steps, name).observe(now - since)
    return now


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
        if not (
            repaired(self.app, Repair.COMMITTED_ENDS)
            or repaired(self.app, Repair.LOADED_OFFSETS)
            or repaired(self.app, Repair.WORKER_TRANSACTIONS)
        ):
            return super()._new_consumer_thread()
        return RepairedConsumerThread(self, loop=self.loop, beacon=self.beacon)

    @Service.task
    async def _commit_on_drain(self) -> None:
        """Commit as soon as the agents have drained their input (Faust's timer bounds it)."""
        gate = gate_of(self.app)
        while not self.should_stop:
            await gate.commit_wanted()
            if self.in_transaction and repaired(self.app, Repair.COMMIT_ON_DRAIN):
                await self.commit()

    async def wait_first(self, *coros: Any, timeout: Any = None) -> WaitResults:
        """Hand a fetched message to the agents directly when nothing can hold it up.

        Faust's fetch loop races every message's delivery against a rebalance
        (``wait_first(deliver(message), suspend_flow.wait())``): four tasks per message for
        the delivery, the rebalance, a stop and a crash, a tenth of a worker's CPU. While
        flow runs, no rebalance, stop or crash has begun and every agent's input queue has
        room, the delivery finishes without waiting, so it is awaited in place; any other
        is raced as Faust does.
        """
        if repaired(self.app, Repair.DIRECT_DELIVERY) and self._delivers_at_once(coros, timeout):
            delivery, rebalance = coros
            rebalance.close()  # never started: there is nothing to wait for
            return WaitResults([delivery], [await delivery], False)
        return await super().wait_first(*coros, timeout=timeout)

    def _delivers_at_once(self, coros: tuple[Any, ...], timeout: Any) -> bool:
        """Whether these are a message's delivery and the rebalance wait, and nothing waits."""
        if timeout is not None or len(coros) != 2:
            return False
        delivery, rebalance = coros
        return (
            getattr(delivery, "cr_code", None) is self.callback.__code__
            and getattr(rebalance, "cr_code", None) is _EVENT_WAIT
            and not self.suspend_flow.is_set()
            and not self._stopped.is_set()
            and not self._crashed.is_set()
            and self.app.flow_control.is_active()
            and gate_of(self.app).inputs_have_room()
        )

    async def commit(self, topics: Any = None, start_new_transaction: bool = True) -> bool:
        """Commit acknowledged offsets between units of work, after changelogs settle."""
        if not self.in_transaction or not repaired(self.app, Repair.COMMIT_GATE):
            return await super().commit(topics, start_new_transaction=start_new_transaction)
        step = time.monotonic()
        with metrics.commit_rounds.time():
            async with gate_of(self.app).exclusive():  # 1. (and 6. on leaving)
                step = _step_done("units", step)
                producer = self.app.producer
                if isinstance(producer, SettlingProducer):
                    await producer.settle()  # 2.
                outbox = outbox_of(self.app)
                await outbox.send_changes()  # 2.
                step = _step_done("changes", step)
                # 3. _filter_committable_offsets, 4. SourceTransactionManager.commit (each
                # transaction commits once 2.'s records are acknowledged)
                committed = await super().commit(
                    topics, start_new_transaction=start_new_transaction
                )
                await outbox.acknowledged()  # 2. (done by now if anything committed)
                step = _step_done("transactions", step)
                if committed:
                    outbox.store_committed()  # 5.
                _step_done("stores", step)
                return committed

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
            await super().wait_empty()
            return None
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
            committed = await self._seek_to_committed_as_assigned()
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

    async def _seek_to_committed_as_assigned(self) -> Mapping[Any, int | None]:
        """Seek every assigned partition to its committed offset, keyed by aiokafka partitions.

        aiokafka fetches the offsets one partition at a time and then seeks: a newer
        rebalance that takes a partition away meanwhile makes the seek raise (gap 12).
        The assignment is then read again and the seek repeated, a bounded number of times.
        """
        attempts = 1
        while self.assignment():
            try:
                return await self.seek_to_committed()
            except IllegalStateError as moved:
                if attempts == SEEK_ATTEMPTS:
                    raise
                logger.info("exactly-once: seeking to committed offsets again: %s", moved)
                attempts += 1
                await asyncio.sleep(SEEK_RETRY_SECONDS)
        return {}

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
        if repaired(self.app, Repair.UNTABLED_OFFSETS):
            did_commit = await self._commit_assigned(offsets, start_new_transaction)
        else:
            did_commit = await super()._commit_offsets(offsets, start_new_transaction)
        if did_commit:
            gate = gate_of(self.app)
            gate.forget_committed(offsets)
            # Faust notes commit times only on its non-transactional path; without them
            # its slow-processing check logs "Has not committed ... at all" every few
            # seconds for every partition of a busy worker.
            now = time.monotonic()
            self._thread.tp_last_committed_at.update({tp: now for tp in offsets})
        return did_commit

    async def _commit_assigned(
        self, offsets: Mapping[TP, int], start_new_transaction: bool
    ) -> bool:
        """Commit the offsets of assigned partitions as Faust does, without a table of them.

        Faust formats every offset it commits into a text table for a log line at a level
        no worker writes: about a fifth of a commit round's CPU (speed-up
        ``untabled-offsets``). Offsets of revoked partitions are discarded, as Faust does.
        """
        assignment = self.assignment()
        committable = {tp: offset for tp, offset in offsets.items() if tp in assignment}
        revoked = {tp: offset for tp, offset in offsets.items() if tp not in assignment}
        if revoked:
            logger.info("Discarded commit for revoked partitions, read again later: %r", revoked)
        if not committable:
            return False
        if self.in_transaction:
            did_commit = bool(
                await self.transactions.commit(
                    committable, start_new_transaction=start_new_transaction
                )
            )
        else:
            await self.app.producer.flush()
            did_commit = await self._commit(committable)
        if did_commit:
            self.app.tables.on_commit(committable)
        self._committed_offset.update(committable)
        self.app.monitor.on_tp_commit(committable)
        return did_commit
