"""Reading partitions' transactional batches and markers straight from their leaders.

What a commit left open (``leftovers.py``) and whether its markers landed
(``confirmed_commits.py``) are read below the consumer: ListOffsets and Fetch requests on
a client's connections, the record batches' headers parsed with aiokafka.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.protocol.offset import OffsetRequest
from aiokafka.record.control_record import ControlRecord
from aiokafka.record.memory_records import MemoryRecords

#: Kafka's isolation levels (ListOffsets and Fetch).
READ_UNCOMMITTED, READ_COMMITTED = 0, 1
#: ListOffsets' "latest": the high watermark, or with read_committed the last stable offset.
LATEST = -1
#: Bytes read per partition and request.
SCAN_BYTES = 1 << 20
#: Requests per partition at most while scanning: more than this is left unread.
SCAN_ROUNDS = 16
#: The markers Kafka writes: the ``type`` of a control record (after its ``version``).
ABORT, COMMIT = 0, 1
#: The pause between two metadata refreshes while a partition's leader is unknown.
LEADER_POLL_SECONDS = 0.1
#: Errors of a partition a leader gives while it moves or restarts: unknown topic or
#: partition (3), leader not available (5), not leader (6), replica not available (9),
#: storage error (56), fenced or unknown leader epoch (74, 75), offset not available (78).
PASSING_ERRORS = frozenset({3, 5, 6, 9, 56, 74, 75, 78})

Read = TypeVar("Read")


class LeaderUnknown(RuntimeError):
    """No leader is known for a partition to be read."""


class ReadRefused(RuntimeError):
    """A leader refused or dropped a read for a reason that passes (it moved, or restarts)."""


def _partition_error(what: str, error_code: int) -> RuntimeError:
    """The exception for a partition's error: :class:`ReadRefused` where it passes."""
    kind = ReadRefused if error_code in PASSING_ERRORS else RuntimeError
    return kind(f"{what} failed: {error_code}")


async def _send(client: Any, node: int, request: Any) -> Any:
    """Send a request to a node; a connection lost or a request timed out is refused."""
    try:
        return await client.send(node, request)
    except KafkaError as error:
        if error.retriable:
            raise ReadRefused(f"node {node}: {error!r}") from error
        raise


@dataclass(frozen=True)
class LoggedBatch:
    """A transactional batch read from a partition: whose, when written, and, for a control
    batch, its marker (:data:`COMMIT` or :data:`ABORT`)."""

    offset: int
    producer_id: int
    producer_epoch: int
    max_timestamp_ms: int
    marker: int | None = None


def leaders_of(
    client: Any, tps: Iterable[TopicPartition], cluster: Any = None
) -> dict[int, list[TopicPartition]]:
    """The partitions by their leader (from ``cluster``, else the client's metadata)."""
    by_leader: dict[int, list[TopicPartition]] = {}
    for tp in tps:
        leader = (cluster or client.cluster).leader_for_partition(tp)
        if leader is None or leader < 0:
            raise LeaderUnknown(f"no leader known for {tp}")
        by_leader.setdefault(leader, []).append(tp)
    return by_leader


async def current_leaders(
    client: Any, tps: Iterable[TopicPartition], wait_seconds: float
) -> dict[int, list[TopicPartition]]:
    """The partitions by their leader in the client's metadata, refreshed (their topics
    followed from then on) while one has none, for at most ``wait_seconds``.

    A producer's client knows only the topics it wrote to (a producer new after a
    rebalance has never seen the group's offsets topic), and no leader for a while after
    a broker restart.
    """
    tps = list(tps)
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return leaders_of(client, tps)
        except LeaderUnknown:
            if time.monotonic() >= deadline:
                raise
        for topic in {tp.topic for tp in tps}:
            client.add_topic(topic)
        await client.force_metadata_update()
        if any(client.cluster.leader_for_partition(tp) in (None, -1) for tp in tps):
            await asyncio.sleep(LEADER_POLL_SECONDS)


async def read_each_leader(
    client: Any,
    tps: Iterable[TopicPartition],
    deadline: float,
    read: Callable[[int, list[TopicPartition]], Awaitable[Read]],
) -> tuple[list[Read], list[TopicPartition]]:
    """Run ``read`` on every leader's partitions at once: what the reads returned, and the
    partitions whose read was refused (:class:`ReadRefused`; the metadata is refreshed and a
    moment passes before the caller asks again, ``deadline`` a monotonic time)."""
    leaders = await current_leaders(client, tps, max(0.0, deadline - time.monotonic()))
    owners = list(leaders.items())
    answers = await asyncio.gather(
        *(read(leader, owned) for leader, owned in owners), return_exceptions=True
    )
    results: list[Read] = []
    refused: list[TopicPartition] = []
    for (_, owned), answer in zip(owners, answers, strict=True):
        if isinstance(answer, ReadRefused):
            refused.extend(owned)
        elif isinstance(answer, BaseException):
            raise answer
        else:
            results.append(answer)
    if refused:
        await client.force_metadata_update()
        await asyncio.sleep(LEADER_POLL_SECONDS)
    return results, refused


async def read_batches(
    client: Any, tps: Iterable[TopicPartition], cluster: Any, isolation: int, since: int
) -> dict[TopicPartition, list[LoggedBatch]]:
    """Each partition's transactional batches from the offset ListOffsets gives for ``since``
    (a timestamp, or LATEST) at ``isolation``, up to its high watermark."""
    found: dict[TopicPartition, list[LoggedBatch]] = {}
    for leader, owned in leaders_of(client, tps, cluster).items():
        positions = await list_offsets(client, leader, owned, isolation, since)
        for _ in range(SCAN_ROUNDS):
            if not positions:
                break
            positions = await fetch_batches(client, leader, positions, found)
    return found


async def list_offsets(
    client: Any, node: int, tps: Sequence[TopicPartition], isolation: int, since: int
) -> dict[TopicPartition, int]:
    """Each partition's offset for ``since`` from its leader (none where no record is)."""
    topics: dict[str, list[tuple[int, int]]] = {}
    for tp in tps:
        topics.setdefault(tp.topic, []).append((tp.partition, since))
    request = OffsetRequest(replica_id=-1, isolation_level=isolation, topics=list(topics.items()))
    response = await _send(client, node, request)
    offsets: dict[TopicPartition, int] = {}
    for topic, partitions in response.topics:
        for partition, error_code, _timestamp, offset, *_ in partitions:
            if error_code:
                raise _partition_error(f"ListOffsets of {topic}[{partition}]", error_code)
            if offset >= 0:
                offsets[TopicPartition(topic, partition)] = offset
    return offsets


async def fetch_batches(
    client: Any,
    node: int,
    positions: Mapping[TopicPartition, int],
    found: dict[TopicPartition, list[LoggedBatch]],
    *,
    wait_ms: int = 0,
    min_bytes: int = 1,
    reached: dict[TopicPartition, int] | None = None,
) -> dict[TopicPartition, int]:
    """Read one round above the given positions into ``found`` (read uncommitted); where each
    partition goes on, for those not read up to their high watermark yet.

    With ``wait_ms`` the leader answers once ``min_bytes`` are there to read in all of them
    together, or when that ran out; ``reached`` gets, for every partition, the offset after
    the last batch read.
    """
    topics: dict[str, list[tuple[int, int, int]]] = {}
    for tp, offset in positions.items():
        topics.setdefault(tp.topic, []).append((tp.partition, offset, SCAN_BYTES))
    request = FetchRequest(
        max_wait_time=wait_ms,
        min_bytes=min_bytes if wait_ms else 0,
        max_bytes=SCAN_BYTES * max(1, len(positions)),
        isolation_level=READ_UNCOMMITTED,
        topics=list(topics.items()),
    )
    response = await _send(client, node, request)
    onward: dict[TopicPartition, int] = {}
    for topic, partitions in response.topics:
        for partition, error_code, highwater, *rest in partitions:
            tp, records = TopicPartition(topic, partition), rest[-1]
            if error_code:
                raise _partition_error(f"Fetch of {tp}", error_code)
            position = positions[tp]
            batches = MemoryRecords(records) if records else None
            while batches is not None and batches.has_next():
                batch = batches.next_batch()
                if batch is None:
                    break
                position = batch.next_offset
                if batch.is_transactional:
                    found.setdefault(tp, []).append(
                        LoggedBatch(
                            batch.base_offset,
                            batch.producer_id,
                            batch.producer_epoch,
                            batch.max_timestamp,
                            _marker(batch) if batch.is_control_batch else None,
                        )
                    )
            if positions[tp] < position < highwater:
                onward[tp] = position
            if reached is not None:
                reached[tp] = position
    return onward


def _marker(batch: Any) -> int | None:
    """The marker a control batch holds: COMMIT or ABORT (None if it holds none)."""
    for record in batch:
        key = record.key
        if key is not None and len(key) >= 4:
            return int(ControlRecord.parse(key).type_)
    return None
