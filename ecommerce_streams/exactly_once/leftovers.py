"""What a committed transaction left open where a broker skipped its markers, committed again.

A broker that stops (or restarts) while a transaction commits can skip the commit
markers of partitions whose leader it does not know at that moment "as likely deleted"
(gap 16): the transaction commits in some partitions and its records stay open in the
others. A worker stops rather than begin another transaction after such a commit
(``confirmed_commits.py``), or stops before it can tell (its broker went down with it,
the watchdog exited it): those records are left to its next epoch, whose abort of
forgotten transactions (gap 15) used to abort them: an order whose reservation was
committed lost its state.

Within one epoch our producers never abort (any failure crashes the worker), so every
transaction of an epoch before its last successful commit committed. After each commit
the worker therefore notes on disk which producer id and epoch committed, and when it
returned (:class:`CommitNotes`). A restarted worker, before it aborts anything, reads what its
previous epoch left open in every partition it may have written to and in the group's
offsets (:func:`open_batches`), and commits, in one empty transaction of its new epoch,
the partitions whose open records all come from before that last commit
(:func:`committed_leftovers`, :func:`seal_leftovers`): markers match by producer id, so
its commit markers commit them. Records written after the last commit belong to a
transaction that never committed, and the abort that follows closes them.

What it cannot tell apart: a partition holding both, records of the last commit left
open and records of the transaction after it (a broker that lost that transaction's
partitions, gap 15). Markers close both alike; it is aborted, as before, and logged.

An answered commit is not always a commit: a broker stopping right after it answers an
EndTxn can skip every marker and, once restarted, abort the transaction when the next
epoch initialises (``docs/chaos-campaign.md``, twentieth session), and that abort's
markers can be skipped in some partitions too. So the seal commits nothing unless the
broker shows the noted transaction committed: a COMMIT marker after one of its records
in a partition where its markers landed (:func:`read_back`, :func:`noted_outcome`; the
note says when the transaction began, so its records are told from the last one's), or,
where no marker shows either way, the group's committed offset of the source partition
the note names. An ABORT marker after one of its records means the coordinator aborted
it: what it left open is aborted too.
"""

import asyncio
import logging
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from ecommerce_streams.exactly_once.log_reading import (
    ABORT,
    COMMIT,
    LATEST,
    READ_COMMITTED,
    READ_UNCOMMITTED,
    LoggedBatch,
    read_batches,
)
from ecommerce_streams.exactly_once.offset_fetch import heed_offset_fetch_errors

logger = logging.getLogger(__name__)

#: The topic of the consumer groups' offsets, whose transactional writes markers commit too.
GROUP_OFFSETS_TOPIC = "__consumer_offsets"
#: Bytes of a commit note, newline included: one ``pwrite`` a killed process cannot halve.
NOTE_BYTES = 384
#: How long before its commit a transaction's records can be, at most: where a note has no
#: earlier commit of its epoch to say when the transaction began, it began this long before.
LONGEST_TRANSACTION_MS = 120_000
#: Tries, and the wait between them, for the group's offsets to join the sealing transaction.
JOIN_ATTEMPTS, JOIN_BACKOFF_SECONDS = 50, 0.1


@dataclass(frozen=True)
class SourceOffset:
    """One source partition and the offset a commit gave it for the group."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class LastCommit:
    """The producer id and epoch whose commit last succeeded, when (ms since the epoch), one
    offset it committed, and when its transaction began (None in older notes)."""

    producer_id: int
    producer_epoch: int
    committed_at_ms: int
    source: SourceOffset | None = None
    began_at_ms: int | None = None


def note_path(datadir: Path, transactional_id: str) -> Path:
    """Where a worker notes the last commit of one transactional id."""
    return datadir / "last-commits" / f"{transactional_id}.txt"


class CommitNotes:
    """The last commit of each transactional id, noted in a file kept open (one per id).

    Noted after every commit, before the next transaction writes anything: one ``pwrite``
    of a fixed-width line over the last (3 µs; truncating and rewriting a file on ext4
    cost 160 µs of CPU). A process killed cannot leave half a line of a 48-byte write.
    """

    def __init__(self, datadir: Path) -> None:
        self._datadir = datadir
        self._files: dict[str, int] = {}
        self._last: dict[str, tuple[int, int, int]] = {}  # id: producer id, epoch, ms

    def note(
        self,
        transactional_id: str,
        producer_id: int,
        producer_epoch: int,
        committed_at_ms: int,
        source: SourceOffset | None = None,
    ) -> None:
        """Note that a commit of this producer id and epoch returned at ``committed_at_ms``,
        giving ``source`` its offset; its transaction began when the last one noted of the
        same epoch returned (just after: that millisecond may hold the last one's records)."""
        last = self._last.get(transactional_id)
        began_at_ms = committed_at_ms - LONGEST_TRANSACTION_MS
        if last is not None and last[:2] == (producer_id, producer_epoch):
            began_at_ms = last[2] + 1
        self._last[transactional_id] = (producer_id, producer_epoch, committed_at_ms)
        fd = self._files.get(transactional_id)
        if fd is None:
            path = note_path(self._datadir, transactional_id)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            self._files[transactional_id] = fd
        line = f"{producer_id:>20} {producer_epoch:>5} {committed_at_ms:>20} {began_at_ms:>20}"
        if source is not None:
            line += f" {source.offset:>20} {source.partition:>10} {source.topic}"
        os.pwrite(fd, line.ljust(NOTE_BYTES - 1).encode() + b"\n", 0)


def last_commit(path: Path) -> LastCommit | None:
    """The last commit noted at ``path``, or None if there is none (or it cannot be read).

    Notes are ``producer epoch committed [began] [offset partition topic]``: 3, 4, 6 or 7
    words (those without the transaction's start were written by earlier versions).
    """
    try:
        words = path.read_text().split()
        if len(words) not in (3, 4, 6, 7):
            return None
        producer_id, producer_epoch, committed_at_ms = (int(w) for w in words[:3])
        began_at_ms = int(words[3]) if len(words) in (4, 7) else None
        source = None
        if len(words) >= 6:
            offset, partition, topic = words[-3:]
            source = SourceOffset(topic, int(partition), int(offset))
    except (FileNotFoundError, ValueError):
        return None
    return LastCommit(producer_id, producer_epoch, committed_at_ms, source, began_at_ms)


def committed_leftovers(
    batches: Mapping[TopicPartition, Sequence[LoggedBatch]], commit: LastCommit
) -> tuple[set[TopicPartition], set[TopicPartition]]:
    """The partitions to commit again, and those holding committed and uncommitted records both.

    A partition is committed again when its open batches of the committing producer id
    and epoch were all written before that epoch's last commit (strictly earlier
    millisecond: its commit took a round trip, and the next transaction's records came
    after it). Other producers' batches are theirs to close.
    """
    seal: set[TopicPartition] = set()
    mixed: set[TopicPartition] = set()
    for tp, found in batches.items():
        ours = [
            b
            for b in found
            if b.producer_id == commit.producer_id and b.producer_epoch == commit.producer_epoch
        ]
        before = [b for b in ours if b.max_timestamp_ms < commit.committed_at_ms]
        if before and len(before) == len(ours):
            seal.add(tp)
        elif before:
            mixed.add(tp)
    return seal, mixed


def noted_outcome(
    logs: Mapping[TopicPartition, Sequence[LoggedBatch]], commit: LastCommit
) -> int | None:
    """How the noted transaction ended where its markers landed: ABORT, COMMIT, or None.

    ``logs`` are each partition's transactional batches in order, from a record written
    when the transaction began or before. A marker of the producer id right after the
    transaction's own records (written between its beginning and its commit) is that
    transaction's: the last transaction's markers came before its first record, a later
    one's records come first (then the partition tells nothing). Any ABORT decides: the
    coordinator aborted what the worker saw committed.
    """
    if commit.began_at_ms is None:
        return None
    outcomes: set[int] = set()
    for batches in logs.values():
        ours_open = False
        for batch in batches:
            if batch.producer_id != commit.producer_id:
                continue
            if batch.marker is not None:
                if ours_open:
                    outcomes.add(batch.marker)
                    break
            elif batch.producer_epoch == commit.producer_epoch:
                if batch.max_timestamp_ms >= commit.committed_at_ms:
                    break  # a later transaction's
                ours_open = ours_open or batch.max_timestamp_ms >= commit.began_at_ms
    if ABORT in outcomes:
        return ABORT
    return COMMIT if COMMIT in outcomes else None


def group_offsets_partition(group_id: str, partitions: int) -> int:
    """The ``__consumer_offsets`` partition of a group's offsets (Kafka's ``partitionFor``).

    Java's ``String.hashCode`` over UTF-16 code units, made positive by Kafka's
    ``Utils.abs`` (the absolute value, 0 for the smallest int), modulo the partitions.
    """
    units = group_id.encode("utf-16-be")
    code = 0
    for i in range(0, len(units), 2):
        code = (31 * code + int.from_bytes(units[i : i + 2], "big")) & 0xFFFFFFFF
    signed = code - (1 << 32) if code & 0x80000000 else code
    return (0 if signed == -(1 << 31) else abs(signed)) % partitions


async def _offsets_committed(client: Any, group_id: str, commit: LastCommit) -> bool:
    """Whether the group's committed offset reached the one the noted commit gave its source.

    A note without a source (written before sources were noted) is trusted, as before.
    """
    if commit.source is None:
        return True
    consumer = AIOKafkaConsumer(
        bootstrap_servers=client._bootstrap_servers, group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        heed_offset_fetch_errors(consumer)  # a coordinator still loading is asked again
        source = commit.source
        committed = await consumer.committed(TopicPartition(source.topic, source.partition))
    finally:
        await consumer.stop()
    return committed is not None and committed >= source.offset


async def _committed(
    client: Any,
    scanned: Sequence[TopicPartition],
    cluster: Any,
    group_id: str,
    offsets_open: bool,
    commit: LastCommit,
) -> bool:
    """Whether the broker shows the noted transaction committed: its markers where they
    landed, else (none found) the group's committed offset, unless that is open too."""
    if commit.began_at_ms is not None:
        since_ms = max(0, commit.began_at_ms)  # ListOffsets reads -1, -2 as latest, earliest
        outcome = noted_outcome(await read_back(client, scanned, since_ms, cluster), commit)
        if outcome is not None:
            return outcome == COMMIT
        if offsets_open:
            return False  # no marker landed anywhere: the coordinator aborts it
    return offsets_open or await _offsets_committed(client, group_id, commit)


async def open_batches(
    client: Any, tps: Iterable[TopicPartition], cluster: Any = None
) -> dict[TopicPartition, list[LoggedBatch]]:
    """Every data batch above each partition's last stable offset (read uncommitted).

    Leaders come from ``cluster`` (metadata of every topic), else from the client's own.
    """
    found = await read_batches(client, tps, cluster, READ_COMMITTED, LATEST)
    return {tp: [b for b in batches if b.marker is None] for tp, batches in found.items()}


async def read_back(
    client: Any, tps: Iterable[TopicPartition], since_ms: int, cluster: Any = None
) -> dict[TopicPartition, list[LoggedBatch]]:
    """Every transactional batch, markers included, from the first record written at
    ``since_ms`` or later (read uncommitted; partitions with none are left out)."""
    return await read_batches(client, tps, cluster, READ_UNCOMMITTED, since_ms)


async def _join_group(producer: Any, group_id: str) -> None:
    """AddOffsetsToTxn alone: the group's offsets partition joins, no offset is written."""
    txn = producer._txn_manager
    for _ in range(JOIN_ATTEMPTS):
        await producer._sender._do_add_offsets_to_txn(group_id)  # retriable errors: no join
        if txn._txn_consumer_group == group_id:
            return
        await asyncio.sleep(JOIN_BACKOFF_SECONDS)
    raise RuntimeError(f"the group {group_id!r} could not join the transaction that seals")


async def seal_leftovers(
    producer: Any, tps: Sequence[TopicPartition], group_id: str, note: Path
) -> set[TopicPartition]:
    """Commit what the previous epoch's committed transactions left open; return where.

    ``producer`` is a fresh transactional producer of the same id inside a transaction
    it has just begun, which this commits (empty or not) when something is to be sealed.
    ``tps`` are the partitions its id may have written to; the group's offsets partition
    is read too. Does nothing if no commit was noted or the producer id changed.
    """
    commit = last_commit(note)
    txn = producer._txn_manager
    if commit is None or commit.producer_id != txn.producer_id:
        return set()
    client = producer.client
    cluster = await client.fetch_all_metadata()
    scanned = list(tps)
    offsets_topic = cluster.partitions_for_topic(GROUP_OFFSETS_TOPIC)  # none before any group
    group_tp = None
    if offsets_topic:
        group_tp = TopicPartition(
            GROUP_OFFSETS_TOPIC, group_offsets_partition(group_id, len(offsets_topic))
        )
        scanned.append(group_tp)
    seal, mixed = committed_leftovers(await open_batches(client, scanned, cluster), commit)
    for tp in sorted(mixed):
        logger.error(
            "%s holds records of producer %d epoch %d both committed and not: "
            "they are aborted together (gap 16 with gap 15 in one partition)",
            tp,
            commit.producer_id,
            commit.producer_epoch,
        )
    if not seal:
        return set()
    if not await _committed(client, scanned, cluster, group_id, group_tp in seal, commit):
        logger.warning(
            "producer %d epoch %d noted a commit the broker does not show committed (an "
            "ABORT where its markers landed, or no marker anywhere and its offsets open "
            "too): its records left open in %s are aborted with the rest of it",
            commit.producer_id,
            commit.producer_epoch,
            ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(seal)),
        )
        return set()
    for tp in seal - {group_tp}:
        txn.maybe_add_partition_to_txn(tp)
    if group_tp in seal:
        await _join_group(producer, group_id)
    started = time.monotonic()
    await producer.commit_transaction()
    logger.warning(
        "committed again what producer %d epoch %d left open after its last commit "
        "(its markers skipped) in %d partition(s) in %.2fs: %s",
        commit.producer_id,
        commit.producer_epoch,
        len(seal),
        time.monotonic() - started,
        ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(seal)),
    )
    await producer.begin_transaction()
    return seal
