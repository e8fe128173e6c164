"""Table recovery that restores every committed changelog record before a partition is served.

Faust restores a table partition by resuming its changelog on the worker's main
consumer and feeding records through the fetcher into a queue. Under exactly-once
that path serves partitions whose state is wrong (gap 6 in
:mod:`ecommerce_streams.exactly_once`):

- a partition the worker keeps through a rebalance is restored again, from where its
  last restore ended, over its own newer writes. A read-committed changelog ends
  where the worker's still-open transaction begins, so older committed values
  replace the newer ones that transaction will commit: an order confirmed a moment
  ago is put back to ``awaiting_order`` and its stock results are refused;
- the last offset of a transactional changelog is a commit marker, never a record,
  so the restore never reaches its end by records; after ten quiet seconds Faust
  declares it done as soon as the consumer's *fetch position* has passed the end,
  whether or not the fetched records were applied;
- the consumer drops the rest of a fetched batch when flow stops or the generation
  changes, and its position has already moved past them;
- the start offset is remembered across rebalances and survives a revocation whose
  rebalance was superseded, although the partition's files were deleted.

:class:`CompleteRecovery` therefore restores active partitions itself, before Faust
looks at them. A partition that stayed *current* (restored, then owned without a
break; see :class:`~ecommerce_streams.exactly_once.FreshPartitionStore`) is left as
it is. Any other is read by a dedicated read-committed consumer from the store's
persisted offset until its position reaches the last stable offset, every record
applied to the store. Only then is Faust told that the partition is up to date, so
its own restore has nothing left to do. Kept files are read again from the offset they
end with: if that record's transaction did not commit after all (a broker shutting
down acknowledged the commit but wrote no markers, and the next owner aborted it), the
files are dropped and the partition is restored whole.

A partition is read only once no transaction that was open in it when the pass began is
open any more: its last stable offset has reached the high watermark of that moment. An
open transaction there is not this worker's current one: it is the previous owner's, and is
either aborted (its restart, the group's adoption of a removed worker's id, or the
transaction timeout) or a commit whose markers the broker skipped (gap 16), which the
previous owner's next epoch commits again (``leftovers.py``). Read up to the stable
offset before then, the restore missed that commit's changes while the group's offsets
said its events were done: an order missed a step of its saga and never ended.
Kept files naming an offset at or past the last stable offset end with such a commit
too: they are kept, and the restore waits for its markers (within its pass) likewise.
"""

import asyncio
import contextlib
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from faust.tables import TableManager
from faust.tables.recovery import Recovery
from faust.transport.drivers.aiokafka import server_list
from faust.types import TP, ConsumerT

from ecommerce_streams import metrics
from ecommerce_streams.exactly_once import Repair, gate_of, repaired

logger = logging.getLogger(__name__)

#: How each restore pass is logged; :func:`restore_seconds` reads it back.
RESTORED = "restored %d records into %d of %d stale changelog partitions in %.2fs (%d current)"
_RESTORED_SECONDS = re.compile(r"restored \d+ records into .* partitions in ([\d.]+)s")

#: Longest a single restore pass may run before recovery restarts to keep going;
#: Faust gives each recovery step ``broker_request_timeout`` and stops recovering
#: altogether when a step overruns it.
RESTORE_PASS_SECONDS = 30.0

#: How often a restore asks again whether the transactions open in a partition have ended.
STABLE_POLL_SECONDS = 0.05


class PassOver(Exception):
    """A restore pass reached its deadline in the middle of a check."""


class ChangelogMessage(NamedTuple):
    """The parts of a changelog record a store applies."""

    tp: TP
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class ChangelogRecord(NamedTuple):
    """A changelog record shaped like the Faust event a store's batch apply expects."""

    message: ChangelogMessage


class ChangelogRestorer:
    """Reads changelog partitions read-committed up to their last stable offset into stores."""

    def __init__(
        self, bootstrap_servers: list[str], *, on_progress: Callable[[], None] | None = None
    ) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._on_progress = on_progress or (lambda: None)
        self._consumer: AIOKafkaConsumer | None = None
        self._uncommitted_reader: AIOKafkaConsumer | None = None
        #: Changelog records applied so far, over every restore.
        self.records_restored = 0

    async def _started_consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            self._consumer = await self._reader("read_committed")
        return self._consumer

    async def _reader(self, isolation_level: str) -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap_servers,
            isolation_level=isolation_level,
            enable_auto_commit=False,
            group_id=None,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        await consumer.start()
        return consumer

    async def _uncommitted(self) -> AIOKafkaConsumer:
        """The read_uncommitted reader, started on first use."""
        if self._uncommitted_reader is None:
            self._uncommitted_reader = await self._reader("read_uncommitted")
        return self._uncommitted_reader

    async def _aborted(self, kafka_tp: TopicPartition, offset: int, deadline: float) -> bool:
        """Whether ``offset`` holds a data record a read_committed reader does not see.

        Asked when a read_committed read from ``offset`` began past it: the offset is
        then a commit marker, a record compaction removed (both fine), or a record of a
        transaction that did not commit. Raises :class:`PassOver` when the read has not
        answered by ``deadline``: the next pass asks again.
        """
        reader = await self._uncommitted()
        reader.assign([kafka_tp])
        reader.seek(kafka_tp, offset)
        end = (await reader.end_offsets([kafka_tp]))[kafka_tp]
        while await reader.position(kafka_tp) < end:
            if time.monotonic() >= deadline:
                raise PassOver(f"{kafka_tp} at {offset} unread when the restore pass ended")
            records = (await reader.getmany(kafka_tp, timeout_ms=500, max_records=1)).get(kafka_tp)
            if records:
                return bool(records[0].offset == offset)
        return False

    async def _stable_at(self, kafka_tp: TopicPartition, written: int, deadline: float) -> int:
        """Wait until the last stable offset reaches ``written``; return it.

        ``written`` is the high watermark when the pass began: every transaction open then
        has ended once the stable offset reaches it. Raises :class:`PassOver` when one has
        not by ``deadline``: the next pass asks again.
        """
        consumer = await self._started_consumer()
        waited = time.monotonic()
        while (stable := (await consumer.end_offsets([kafka_tp]))[kafka_tp]) < written:
            if time.monotonic() >= deadline:
                raise PassOver(f"{kafka_tp} stable at {stable}, below {written}, at the pass end")
            await asyncio.sleep(STABLE_POLL_SECONDS)
        logger.info(
            "restoring %s once its open transactions ended, after %.2fs",
            kafka_tp,
            time.monotonic() - waited,
        )
        return int(stable)

    async def restore(self, tables: Mapping[TP, Any], *, deadline: float) -> dict[TP, int]:
        """Apply each partition's committed records; return the finished ones with their ends.

        ``tables`` are Faust tables, used through their store (``data``), which Faust's
        ``CollectionT`` does not declare.

        A partition restarts from its store's persisted offset, so a pass cut short by
        ``deadline`` (a monotonic time) loses nothing: the next pass goes on from there.
        """
        if not tables:
            return {}
        consumer = await self._started_consumer()
        partitions = {TopicPartition(tp.topic, tp.partition): tp for tp in tables}
        consumer.assign(list(partitions))
        written = await (await self._uncommitted()).end_offsets(list(partitions))
        ends = await consumer.end_offsets(list(partitions))
        finished: dict[TP, int] = {}
        pending: set[TopicPartition] = set()
        #: Kept files and the offset they end with, until a read shows it committed.
        unchecked: dict[TopicPartition, int] = {}
        for kafka_tp, tp in partitions.items():
            persisted = tables[tp].persisted_offset(tp)
            if persisted is not None and persisted >= written[kafka_tp]:
                _drop_files_ahead(tables[tp], tp, persisted, written[kafka_tp])
                persisted = None
            if ends[kafka_tp] < written[kafka_tp]:
                try:
                    ends[kafka_tp] = await self._stable_at(kafka_tp, written[kafka_tp], deadline)
                except PassOver as over:
                    logger.info("not restored yet, a transaction is open in it: %s", over)
                    continue  # the next pass goes on
            start = 0
            if persisted is not None:
                start = unchecked[kafka_tp] = persisted  # read it again: is it committed?
            if start >= ends[kafka_tp]:
                finished[tp] = ends[kafka_tp]
                continue
            consumer.seek(kafka_tp, start)
            pending.add(kafka_tp)
        with contextlib.suppress(PassOver):  # unchecked files are checked in the next pass
            while pending and time.monotonic() < deadline:
                await self._restore_step(consumer, tables, partitions, pending, unchecked, deadline)
                for kafka_tp in list(pending):
                    if await consumer.position(kafka_tp) >= ends[kafka_tp]:
                        table = tables[partitions[kafka_tp]]
                        if await self._files_undone(kafka_tp, table, unchecked, deadline):
                            consumer.seek(kafka_tp, 0)
                            continue
                        pending.discard(kafka_tp)
                        tp = partitions[kafka_tp]
                        finished[tp] = ends[kafka_tp]
                        # everything before the end is applied: the next restore starts there
                        tables[tp].data.set_persisted_offset(tp, ends[kafka_tp] - 1)
        return finished

    async def _restore_step(
        self,
        consumer: AIOKafkaConsumer,
        tables: Mapping[TP, Any],
        partitions: Mapping[TopicPartition, TP],
        pending: set[TopicPartition],
        unchecked: dict[TopicPartition, int],
        deadline: float,
    ) -> None:
        """Apply one fetch of the pending partitions' records."""
        batches = await consumer.getmany(*pending, timeout_ms=500, max_records=10_000)
        for kafka_tp, records in batches.items():
            tp = partitions[kafka_tp]
            first = records[0].offset
            if await self._files_undone(kafka_tp, tables[tp], unchecked, deadline, first):
                consumer.seek(kafka_tp, 0)
                continue
            tables[tp].apply_changelog_batch(_as_changelog_records(tp, records))
            metrics.changelog_records_restored.inc(len(records))
            self.records_restored += len(records)
        self._on_progress()

    async def _files_undone(
        self,
        kafka_tp: TopicPartition,
        table: Any,
        unchecked: dict[TopicPartition, int],
        deadline: float,
        first_read: int | None = None,
    ) -> bool:
        """Drop kept files whose last record's transaction did not commit; True if dropped.

        ``first_read`` is the first offset read_committed returned from the files' offset
        (None: none before the end). The broker can acknowledge a commit whose markers it
        never writes (a partition without a leader as it shuts down is skipped as if
        deleted): the worker stored the changes, and the next owner's abort of forgotten
        transactions (gap 15) undid them in Kafka. Such files are of another history.
        """
        kept = unchecked.pop(kafka_tp, None)
        if kept is None or first_read == kept or not await self._aborted(kafka_tp, kept, deadline):
            return False
        logger.warning(
            "local files of %s end with offset %d, whose transaction did not commit: "
            "restoring it whole",
            kafka_tp,
            kept,
        )
        table.data.drop_partition(kafka_tp.partition)
        return True

    async def close(self) -> None:
        """Stop the restore consumers."""
        for consumer in (self._consumer, self._uncommitted_reader):
            if consumer is not None:
                await consumer.stop()
        self._consumer = self._uncommitted_reader = None


def _drop_files_ahead(table: Any, tp: TP, persisted: int, end: int) -> None:
    """Delete a partition's files that name an offset past its changelog's end: restore all.

    Kept files (``kept-local-state``) hold committed changes up to the offset they name; a
    changelog that ends before it was deleted and created again, so the files are of
    another history.
    """
    logger.warning(
        "local files of %s name offset %s, past the changelog's end %d: restoring it whole",
        tp,
        persisted,
        end,
    )
    table.data.drop_partition(tp.partition)


def _as_changelog_records(tp: TP, records: Iterable[Any]) -> list[ChangelogRecord]:
    return [
        ChangelogRecord(ChangelogMessage(tp, tp.partition, r.offset, r.key, r.value))
        for r in records
    ]


def restore_seconds(log: str) -> float | None:
    """Seconds a worker spent restoring changelogs, summed over the passes in its log text."""
    passes = [float(seconds) for seconds in _RESTORED_SECONDS.findall(log)]
    return sum(passes) if passes else None


def _is_current(table: Any, tp: TP) -> bool:
    is_current = getattr(table.data, "is_current", None)
    return bool(is_current and is_current(tp.partition))


def _mark_current(table: Any, tp: TP) -> None:
    mark_current = getattr(table.data, "mark_current", None)
    if mark_current is not None:
        mark_current(tp.partition)


class CompleteRecovery(Recovery):
    """Faust's recovery, with active table partitions restored completely beforehand."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._restorer: ChangelogRestorer | None = None

    @property
    def restorer(self) -> ChangelogRestorer:
        """The restorer reading this worker's changelogs (created on first use)."""
        if self._restorer is None:
            servers = server_list(self.app.conf.broker_consumer, 9092)
            gate = gate_of(self.app)
            self._restorer = ChangelogRestorer(servers, on_progress=gate.note_progress)
        return self._restorer

    async def _build_offsets(
        self, consumer: ConsumerT, tps: set[TP], destination: Counter[TP], title: str
    ) -> None:
        await super()._build_offsets(consumer, tps, destination, title)
        if title != "active" or not tps or not repaired(self.app, Repair.COMPLETE_RESTORE):
            return
        started, records_before = time.monotonic(), self.restorer.records_restored
        tables = {tp: self.tp_to_table[tp] for tp in tps}
        stale = {tp: table for tp, table in tables.items() if not _is_current(table, tp)}
        ends = await self.restorer.restore(stale, deadline=started + RESTORE_PASS_SECONDS)
        # Faust's end (last stable offset - 1, read earlier) is never past ours
        restored = {tp for tp, end in ends.items() if end - 1 >= self.active_highwaters[tp]}
        for tp in restored:
            _mark_current(self.tp_to_table[tp], tp)
        unfinished = set(stale) - restored
        for tp in set(tps) - unfinished:
            destination[tp] = self.active_highwaters[tp]  # Faust has nothing left to read
        if stale:
            logger.info(
                RESTORED,
                self.restorer.records_restored - records_before,
                len(restored),
                len(stale),
                time.monotonic() - started,
                len(tps) - len(stale),
            )
        if unfinished:
            logger.info("restore continues for %d partitions in a new pass", len(unfinished))
            self.signal_recovery_start.set()

    async def on_stop(self) -> None:
        """Stop the restore consumer with the recovery service."""
        await super().on_stop()
        if self._restorer is not None:
            await self._restorer.close()


class ShopTableManager(TableManager):
    """Table manager whose recovery restores active partitions completely."""

    @property
    def recovery(self) -> Recovery:
        """Recovery service used by this table manager."""
        if self._recovery is None:
            self._recovery = CompleteRecovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery
