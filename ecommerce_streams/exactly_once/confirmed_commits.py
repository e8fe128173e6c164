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

So after every commit, before the next transaction writes anything, the producer reads
each partition the commit wrote (and the group's offsets partition) from where its log
ended just before the commit, until a marker of its producer id and epoch shows
(:func:`log_ends`, :func:`unconfirmed`). Where none shows within
``MARKER_WAIT_SECONDS`` the producer begins no other transaction: the worker stops
(:class:`UnconfirmedCommit`), its commit noted on disk, and its next epoch commits what
was left open before aborting anything (``leftovers.py``); no transaction of ours can tie
those records to another outcome meanwhile.
"""

import asyncio
import time
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka import TopicPartition

from ecommerce_streams.exactly_once.log_reading import (
    LATEST,
    READ_UNCOMMITTED,
    LoggedBatch,
    fetch_batches,
    leaders_of,
    list_offsets,
)

#: How long a commit's markers may take to show before the worker stops (a broker that
#: takes this long is in trouble anyway; it costs only this producer's next transaction).
MARKER_WAIT_SECONDS = 10.0
#: The pause between two reads of partitions whose marker has not shown yet.
MARKER_POLL_SECONDS = 0.002


class UnconfirmedCommit(RuntimeError):
    """A commit whose markers some partition never got: no transaction may follow it."""


async def log_ends(client: Any, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
    """Each partition's high watermark, read just before a commit: its records and the
    producer's earlier markers lie below, the commit's marker at or above."""
    ends: dict[TopicPartition, int] = {}
    for leader, owned in leaders_of(client, tps).items():
        ends.update(await list_offsets(client, leader, owned, READ_UNCOMMITTED, LATEST))
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
    ``ends`` within ``wait_seconds`` (empty once every one has)."""
    positions = dict(ends)
    deadline = time.monotonic() + wait_seconds
    while positions:
        for leader, owned in leaders_of(client, positions).items():
            found: dict[TopicPartition, list[LoggedBatch]] = {}
            reading = {tp: positions[tp] for tp in owned}
            onward = await fetch_batches(client, leader, reading, found)
            for tp in owned:
                if marked(found.get(tp, ()), producer_id, producer_epoch):
                    del positions[tp]
                elif tp in onward:
                    positions[tp] = onward[tp]  # more than one read holds: go on from there
        if positions:
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(MARKER_POLL_SECONDS)
    return set(positions)
