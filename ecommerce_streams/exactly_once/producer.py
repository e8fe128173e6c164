"""The producer whose buffered table writes keep the transaction of the event that wrote them."""

import asyncio
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, cast

import faust
import faust.stores
from aiokafka import TopicPartition
from aiokafka.producer import sender as aiokafka_sender
from faust.exceptions import ProducerSendError
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, AppT
from faust.types.tuples import FutureMessage

from ecommerce_streams.exactly_once.confirmed_commits import (
    confirm_in_background,
    hold_until_confirmed,
    log_ends,
)
from ecommerce_streams.exactly_once.group_fencing import fence_by_group
from ecommerce_streams.exactly_once.leftovers import (
    GROUP_OFFSETS_TOPIC,
    CommitNotes,
    SourceOffset,
    group_offsets_partition,
)
from ecommerce_streams.exactly_once.outbox import outbox_of
from ecommerce_streams.exactly_once.repairs import Repair, repaired

#: How long a transactional request refused while markers are written waits to retry.
TRANSACTION_RETRY_BACKOFF_MS = 5

#: The partition of the event whose buffered table write is being sent right now.
_buffered_source: ContextVar[TP | None] = ContextVar("es_buffered_source", default=None)


def retry_first_partitions_quickly() -> None:
    """Retry a transaction's first AddPartitionsToTxn, refused while the previous one's
    markers are written, after ``TRANSACTION_RETRY_BACKOFF_MS`` too.

    aiokafka retries that one request after a fixed 20 ms (``BACKOFF_OVERRIDE``) whatever
    the producer's ``retry_backoff_ms``; the partitions of a record stay muted meanwhile,
    and every coordinator request of the transaction (its offsets, its EndTxn) waits.
    """
    aiokafka_sender.BACKOFF_OVERRIDE = TRANSACTION_RETRY_BACKOFF_MS / 1000


def lingers_until_commit(app: AppT) -> bool:
    """Whether a transaction's records wait in the producer until its commit sends them.

    They become visible only once the transaction commits, and every record of it goes
    through the outbox (``direct-sends``, ``write-cache``), whose commit flushes the
    producer's batches (``flush_for_commit``). Sent as each ``ES_PRODUCER_LINGER_SECONDS``
    ran out instead, a produce request was often in flight when the commit flushed, and
    the commit's records waited for its round trip (aiokafka sends one request per broker
    at a time). A batch that fills up is still sent at once.
    """
    needed = (Repair.LINGER_UNTIL_COMMIT, Repair.DIRECT_SENDS, Repair.WRITE_CACHE)
    return all(repaired(app, repair) for repair in needed)


class SettlingProducer(faust_aiokafka.Producer):
    """Producer whose buffered (``send_soon``) records keep their event's transaction.

    Tables write changelogs with ``send_soon`` from the agent, and a background task
    sends them later, when no event is current. Each record therefore remembers the
    partition of the event that wrote it, and is sent in that partition's transaction.
    The commit waits (:meth:`settle`) until every buffered record is acknowledged.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._unsettled: dict[FutureMessage, TP | None] = {}
        self._commit_notes: CommitNotes | None = None  # opened at the first commit
        self._group_offsets: dict[str, TopicPartition] = {}  # group: its offsets partition
        # tid: its producer and the confirmation of that producer's last commit
        self._confirmations: dict[str, tuple[Any, asyncio.Task[None]]] = {}
        super().__init__(*args, **kwargs)
        # Faust's buffer type does not declare the hook we take over (gap 2).
        self.buffer._send_pending = self._send_buffered  # type: ignore[attr-defined]

    def _new_producer(self, transactional_id: str | None = None) -> Any:
        producer = super()._new_producer(transactional_id=transactional_id)
        if transactional_id is not None and repaired(self.app, Repair.CONFIRMED_COMMITS):
            hold_until_confirmed(producer)  # no transaction over unseen markers (gap 16)
        if transactional_id is not None and repaired(self.app, Repair.WORKER_TRANSACTIONS):
            fence_by_group(producer, self.app)  # zombies fenced by the group (KIP-447)
        return producer

    def _settings_extra(self) -> Mapping[str, Any]:
        settings = dict(super()._settings_extra())
        if self.app.in_transaction:
            # After a commit the broker writes the transaction markers; a request of the
            # next transaction meanwhile is refused (CONCURRENT_TRANSACTIONS) and retried
            # after this backoff, which aiokafka sets to 100 ms: with commits as soon as
            # the input drains, that would be most of every hop's latency.
            settings["retry_backoff_ms"] = TRANSACTION_RETRY_BACKOFF_MS
            if repaired(self.app, Repair.QUICK_ADD_RETRIES):
                retry_first_partitions_quickly()
            if lingers_until_commit(self.app):
                settings["linger_ms"] = int(self.app.conf.broker_commit_interval * 1000)
        return settings

    def send_soon(self, fut: FutureMessage) -> None:
        """Buffer a record (table changelogs), remembering the event that wrote it."""
        event = faust.current_event()
        self._unsettled[fut] = event.message.tp if event is not None else None
        fut.add_done_callback(self._forget)
        super().send_soon(fut)

    def _forget(self, fut: asyncio.Future[Any]) -> None:
        self._unsettled.pop(cast(FutureMessage, fut), None)  # the callback's own future

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
                error = None if fut.cancelled() else fut.exception()
                if error is not None:
                    raise error

    async def commit_transactions(
        self,
        tid_to_offset_map: Mapping[str, Mapping[TP, int]],
        group_id: str,
        start_new_transaction: bool = True,
    ) -> None:
        """Commit the partitions' transactions concurrently: one round trip, not one each (4)."""
        commits = [
            self._commit_transaction(tid, offsets, group_id, start_new_transaction)
            for tid, offsets in tid_to_offset_map.items()
        ]
        if repaired(self.app, Repair.CONCURRENT_COMMITS):
            await asyncio.gather(*commits)
        else:
            for commit in commits:
                await commit
        return None

    async def _commit_transaction(
        self, tid: str, offsets: Mapping[TP, int], group_id: str, start_new_transaction: bool
    ) -> None:
        async with self._trn_locks[tid]:
            producer = self._transaction_producers.get(tid)
            if producer is None:
                raise ProducerSendError(f"commit for a transaction never begun: {tid}")
            await self._last_commit_confirmed(tid, producer)
            ends = await self._offsets_sent_and_log_ends(producer, offsets, group_id)
            await producer.commit_transaction()
            if ends:  # at once: nothing of the next transaction may reach the coordinator
                self._confirmations[tid] = (producer, confirm_in_background(producer, ends))
            if repaired(self.app, Repair.SEALED_LEFTOVERS):
                self._note_commit(tid, producer, offsets)
            if start_new_transaction:
                await producer.begin_transaction()

    async def _last_commit_confirmed(self, tid: str, producer: Any) -> None:
        """Wait for the markers of this producer's last commit; raise if one never showed.

        A confirmation left by an earlier producer of ``tid`` (stopped at a rebalance, its
        leftovers sealed by the producer that replaced it) is dropped.
        """
        confirming, confirmation = self._confirmations.pop(tid, (None, None))
        if confirmation is None:
            return
        if confirming is producer:
            await confirmation
        else:
            confirmation.cancel()

    async def _offsets_sent_and_log_ends(
        self, producer: Any, offsets: Mapping[TP, int], group_id: str
    ) -> dict[TopicPartition, int]:
        """Send the offsets once the records are acknowledged and, from then on, read where
        the logs the commit writes end (``confirmed-commits``; empty without it).

        Read once the records are acknowledged, each end lies past the transaction's own
        records, so the confirmation's first read finds its marker rather than them; read
        while the offsets are still being sent, it costs the round no round trip. Every
        earlier marker of the producer was seen before: every end lies above them and
        below the commit's markers.
        """
        if not repaired(self.app, Repair.CONFIRMED_COMMITS):
            await self._send_offsets_once_acknowledged(producer, offsets, group_id)
            return {}
        ends_read: list[asyncio.Future[dict[TopicPartition, int]]] = []

        def read_log_ends() -> None:
            ends_read.append(asyncio.ensure_future(self._log_ends(producer, offsets, group_id)))

        try:
            await self._send_offsets_once_acknowledged(producer, offsets, group_id, read_log_ends)
        except BaseException:
            for reading in ends_read:
                reading.cancel()
            raise
        [reading] = ends_read
        return await reading

    async def _log_ends(
        self, producer: Any, offsets: Mapping[TP, int], group_id: str
    ) -> dict[TopicPartition, int]:
        """Where the logs of the partitions this commit writes end before it: its records
        (joined or still joining the transaction), and its group's offsets if it has any."""
        transaction = producer._txn_manager
        tps = {
            TopicPartition(tp.topic, tp.partition)
            for tp in (*transaction.txn_partitions, *transaction.partitions_to_add())
        }
        if offsets:
            tps.add(await self._group_offsets_partition(producer, group_id))
        return await log_ends(producer.client, tps) if tps else {}

    async def _group_offsets_partition(self, producer: Any, group_id: str) -> TopicPartition:
        """The ``__consumer_offsets`` partition of the group (its leader known from then on)."""
        tp = self._group_offsets.get(group_id)
        if tp is None:
            partitions = await producer.partitions_for(GROUP_OFFSETS_TOPIC)
            tp = TopicPartition(
                GROUP_OFFSETS_TOPIC, group_offsets_partition(group_id, len(partitions))
            )
            self._group_offsets[group_id] = tp
        return tp

    def _note_commit(self, tid: str, producer: Any, offsets: Mapping[TP, int]) -> None:
        """Note on disk that this producer id and epoch committed now, and one offset it gave
        the group (``sealed-leftovers``)."""
        if self._commit_notes is None:
            self._commit_notes = CommitNotes(Path(self.app.conf.datadir))
        txn = producer._txn_manager
        committed_at_ms = int(time.time() * 1000)
        source = next(
            (SourceOffset(tp.topic, tp.partition, offset) for tp, offset in offsets.items()),
            None,
        )
        self._commit_notes.note(tid, txn.producer_id, txn.producer_epoch, committed_at_ms, source)

    async def _send_offsets_once_acknowledged(
        self,
        producer: Any,
        offsets: Mapping[TP, int],
        group_id: str,
        on_acknowledged: Callable[[], None] = lambda: None,
    ) -> None:
        """Add the offsets to the transaction and wait until its records are acknowledged
        (``on_acknowledged`` is called then).

        Both must be done before the commit (step 2, then 4). With ``overlapped-commits``
        the offsets (AddOffsetsToTxn, then TxnOffsetCommit) go out while the records are
        acknowledged instead of after: a commit round saves a round trip. A record that
        fails poisons the commit all the same, and the offsets of a transaction that
        never commits never count.
        """
        acknowledged = outbox_of(self.app).acknowledged
        if not repaired(self.app, Repair.OVERLAPPED_COMMITS):
            await acknowledged()
            on_acknowledged()
            await producer.send_offsets_to_transaction(offsets, group_id)
            return
        offsets_sent = asyncio.ensure_future(
            producer.send_offsets_to_transaction(offsets, group_id)
        )
        try:
            await acknowledged()
        except BaseException:
            offsets_sent.cancel()
            raise
        on_acknowledged()
        await offsets_sent
