"""A commit's markers seen in every partition it wrote before the next transaction writes.

A commit returns once the coordinator has logged its decision; the markers follow. A
broker whose metadata has lost a partition's leader at that moment (a lone broker in
controlled shutdown, or fenced as it restarts) skips that partition "as likely deleted"
and completes the commit (gap 16): those records stay open. The producer's next
transaction, once it adds such a partition, ties them to its own outcome, since markers
match by producer id and not by transaction; when the broker goes away under it and the
next ``InitProducerId`` aborts it, they are aborted while the rest of the commit stands.
The campaign saw it (``docs/chaos-campaign.md``, twenty-second session): a shipment's
routed delivery committed, the offset of its input aborted, and the shipment routed again.

So after every commit the producer reads each partition the commit wrote (and the
group's offsets partition) from where its log ended just before the commit, until a
marker of its producer id and epoch shows (:func:`log_ends`, :func:`unconfirmed`), and
its sender holds the next transaction's requests to the coordinator until then
(:class:`HeldSender`): the next events are processed meanwhile, their records wait in
the producer, and no partition joins the next transaction before the last commit's
markers are seen. Where none shows within ``MARKER_WAIT_SECONDS`` the sender never
sends them: the next commit raises :class:`UnconfirmedCommit` and the worker stops, its
commit noted on disk, and its next epoch commits what was left open before aborting
anything (``leftovers.py``); no transaction of ours tied those records to another outcome.
"""

import asyncio
import functools
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka import TopicPartition
from aiokafka.producer.sender import Sender

from ecommerce_streams import metrics
from ecommerce_streams.exactly_once.log_reading import (
    LATEST,
    READ_UNCOMMITTED,
    LoggedBatch,
    ReadRefused,
    fetch_batches,
    list_offsets,
    read_each_leader,
)

logger = logging.getLogger(__name__)

#: How long a commit's markers may take to show before the worker stops (a broker that
#: takes this long is in trouble anyway; it costs only this producer's next transaction).
MARKER_WAIT_SECONDS = 10.0
#: How long one read waits at most for a record in a partition whose marker has not shown:
#: the leader answers as the marker lands.
MARKER_POLL_MS = 500
#: The size of a batch holding one marker: a read of n partitions asks for n of these, so
#: the leader answers once all their markers can be there, not at the first of them.
MARKER_BATCH_BYTES = 78


class UnconfirmedCommit(RuntimeError):
    """A commit whose markers some partition never got: no transaction may follow it."""


async def log_ends(client: Any, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
    """Each partition's high watermark, read just before a commit: its records and the
    producer's earlier markers lie below, the commit's marker at or above. A leader that
    refuses the read while it moves or restarts is asked again, for ``MARKER_WAIT_SECONDS``."""
    deadline = time.monotonic() + MARKER_WAIT_SECONDS
    ends: dict[TopicPartition, int] = {}
    left = list(tps)
    while left:
        found, left = await read_each_leader(
            client,
            left,
            deadline,
            lambda leader, owned: list_offsets(client, leader, owned, READ_UNCOMMITTED, LATEST),
        )
        for offsets in found:
            ends.update(offsets)
        if left and time.monotonic() >= deadline:
            raise ReadRefused(f"where the logs of {sorted(left)} end went unanswered")
    return ends


def marked(batches: Iterable[LoggedBatch], producer_id: int, producer_epoch: int) -> bool:
    """Whether a marker of this producer id and epoch is among the batches."""
    return any(
        b.marker is not None and b.producer_id == producer_id and b.producer_epoch == producer_epoch
        for b in batches
    )


async def unconfirmed(
    client: Any,
    producer_id: int,
    producer_epoch: int,
    ends: Mapping[TopicPartition, int],
    wait_seconds: float = MARKER_WAIT_SECONDS,
) -> set[TopicPartition]:
    """The partitions where no marker of the producer id and epoch showed at or after their
    ``ends`` within ``wait_seconds`` (empty once every one has). A leader that refuses a
    read while it moves or restarts is asked again until then."""
    positions = dict(ends)
    deadline = time.monotonic() + wait_seconds
    while positions:
        wait_ms = max(0, min(MARKER_POLL_MS, int((deadline - time.monotonic()) * 1000)))
        reads, _ = await read_each_leader(
            client,
            positions,
            deadline,
            functools.partial(_read_for_markers, client, positions, wait_ms),
        )
        for found, onward in reads:
            for tp, position in onward.items():
                if marked(found.get(tp, ()), producer_id, producer_epoch):
                    del positions[tp]
                else:  # other records, or none yet: read on after what was read
                    positions[tp] = position
        if positions and time.monotonic() >= deadline:
            break
    return set(positions)


async def _read_for_markers(
    client: Any,
    positions: Mapping[TopicPartition, int],
    wait_ms: int,
    leader: int,
    owned: Iterable[TopicPartition],
) -> tuple[dict[TopicPartition, list[LoggedBatch]], dict[TopicPartition, int]]:
    """One read of a leader's partitions from their positions, answered once a marker can be
    there in each of them (or ``wait_ms`` ran out): what it found, and where each partition
    reads on."""
    reading = {tp: positions[tp] for tp in owned}
    found: dict[TopicPartition, list[LoggedBatch]] = {}
    reached: dict[TopicPartition, int] = {}
    await fetch_batches(
        client,
        leader,
        reading,
        found,
        wait_ms=wait_ms,
        min_bytes=MARKER_BATCH_BYTES * len(reading),
        reached=reached,
    )
    return found, {tp: reached.get(tp, start) for tp, start in reading.items()}


class HeldSender(Sender):  # type: ignore[misc]
    """aiokafka's sender, holding a transaction's coordinator requests (its partitions, its
    offsets, its commit) while the last commit's markers are unseen, for good if they never
    show; records of partitions not yet in the transaction wait in the producer meanwhile."""

    markers_seen: "asyncio.Future[bool] | None" = None

    def _maybe_do_transactional_request(self) -> Any:
        seen = self.markers_seen
        if seen is not None:
            if not seen.done() or not seen.result():
                return None  # the sender waits for its transaction manager's next news
            self.markers_seen = None
        return super()._maybe_do_transactional_request()


def hold_until_confirmed(producer: Any) -> None:
    """Give a transactional aiokafka producer the sender that holds (see :class:`HeldSender`)."""
    if type(producer._sender) is Sender:
        producer._sender.__class__ = HeldSender


def confirm_in_background(
    producer: Any, ends: Mapping[TopicPartition, int]
) -> "asyncio.Task[None]":
    """Hold the producer's next transaction until the commit just made shows its markers in
    every partition of ``ends``; the task raises :class:`UnconfirmedCommit` if one never does.

    Called right after the commit returns, before anything else runs on the loop.
    """
    txn = producer._txn_manager
    seen: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    producer._sender.markers_seen = seen

    async def confirm() -> None:
        answered = time.monotonic()
        try:
            missing = await unconfirmed(producer.client, txn.producer_id, txn.producer_epoch, ends)
        except BaseException:
            seen.set_result(False)
            raise
        seen.set_result(not missing)
        if not missing:
            metrics.commit_markers_seen.observe(time.monotonic() - answered)
        txn.notify_task_waiter()  # the sender sends what waited, if anything did
        if missing:
            where = ", ".join(sorted(f"{tp.topic}[{tp.partition}]" for tp in missing))
            raise UnconfirmedCommit(
                f"producer {txn.producer_id} epoch {txn.producer_epoch} committed, and no "
                f"marker of it showed in {where}: no other transaction may follow (it would "
                "tie those records to its own outcome); the next epoch commits them"
            )

    task = asyncio.ensure_future(confirm())
    task.add_done_callback(_log_unconfirmed)
    return task


def _log_unconfirmed(task: "asyncio.Task[None]") -> None:
    """Say at once that a commit went unconfirmed (the next commit raises it again)."""
    if not task.cancelled() and task.exception() is not None:
        logger.error("%s", task.exception())
