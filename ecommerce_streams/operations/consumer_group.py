"""Consumer groups seen from outside: who is in a group, how far it got, and rewinding it.

A Faust app's consumer group is its id, and Faust derives the id from the app name and
its version (``faust/types/settings/settings.py`` ``_prepare_id``): ``shop`` for
version 1, ``shop-v2`` for version 2. Offsets are moved with an ordinary consumer that
*assigns* partitions instead of joining the group; the broker accepts such a commit
only while the group has no members, so a running worker can never be rewound under
its feet even if it joins between our membership check and the commit.
"""

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError
from faust.types.settings import Settings as FaustSettings

from ecommerce_streams.kafka_admin import admin_client
from ecommerce_streams.kafka_reading import committed_reader

CAUGHT_UP_POLL_SECONDS = 1.0


def group_id(app_id: str, version: int) -> str:
    """The consumer group (= Faust app id) of ``app_id`` at ``version``, as Faust names it."""
    return FaustSettings(app_id, version=version).id


def parse_log_time(text: str | None) -> datetime | None:
    """An ISO-8601 date-time (None stays None); one without a UTC offset is taken as UTC."""
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO-8601 date-time") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@dataclass(frozen=True)
class GroupMember:
    """One consumer in a group: its member id, client id and host."""

    member_id: str
    client_id: str
    host: str

    def __str__(self) -> str:
        return f"{self.member_id} ({self.host})"


class GroupIsActive(RuntimeError):
    """The group has members, so its offsets must not be moved."""

    def __init__(self, group: str, members: Sequence[GroupMember]) -> None:
        names = ", ".join(str(member) for member in members)
        super().__init__(
            f"consumer group {group!r} has {len(members)} active member(s): {names}. "
            "Stop its workers first."
        )
        self.group = group
        self.members = tuple(members)


async def active_members(bootstrap: str, group: str) -> list[GroupMember]:
    """The group's current members (empty when the group is stopped or unknown)."""
    async with admin_client(bootstrap) as admin:
        responses = await admin.describe_consumer_groups([group])
    return [
        GroupMember(member_id=member[0], client_id=member[1], host=member[2])
        for response in responses
        for described in response.groups
        if described[1] == group
        for member in described[5]
    ]


async def committed_offsets(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    """Every offset the group has committed (one request, so one consistent snapshot)."""
    async with admin_client(bootstrap) as admin:
        offsets = await admin.list_consumer_group_offsets(group)
    return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


async def offsets_at(
    bootstrap: str, topics: Iterable[str], when: datetime | None
) -> dict[TopicPartition, int]:
    """Per partition of ``topics``: the first offset at or after ``when`` (None: earliest).

    ``when`` is compared with the records' log timestamps (the time the broker or the
    producer stamped them). A partition with no record that late gets its end offset.
    """
    partitions = await partitions_of(bootstrap, topics)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        if when is None:
            return dict(await consumer.beginning_offsets(partitions))
        found = await consumer.offsets_for_times(
            dict.fromkeys(partitions, int(when.timestamp() * 1000))
        )
        ends = await consumer.end_offsets(partitions)
        return {tp: ends[tp] if found[tp] is None else found[tp].offset for tp in partitions}
    finally:
        await consumer.stop()


async def rewind(
    bootstrap: str, group: str, topics: Iterable[str], when: datetime | None
) -> dict[TopicPartition, int]:
    """Commit the group's offsets of ``topics`` to ``when`` (None: earliest); return them.

    Raises GroupIsActive, naming the members, while the group has any (also when one
    joined after the check: the broker then refuses the commit).
    """
    members = await active_members(bootstrap, group)
    if members:
        raise GroupIsActive(group, members)
    offsets = await offsets_at(bootstrap, topics, when)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(sorted(offsets))
        await consumer.commit(offsets)
    except CommitFailedError:
        raise GroupIsActive(group, await active_members(bootstrap, group)) from None
    finally:
        await consumer.stop()
    return offsets


async def is_caught_up(bootstrap: str, group: str, topics: Iterable[str]) -> bool:
    """Whether the group has consumed every committed record of ``topics``.

    The committed offsets are taken first, in one snapshot, and the end offsets after;
    a record committed in between counts as not consumed, so a True answer means the
    group was idle at the snapshot. Under exactly-once the committed offset stops one
    short of a transaction's commit marker, so a gap between the committed and the end
    offset is read (read_committed) to see whether it holds any record at all.
    """
    committed = await committed_offsets(bootstrap, group)
    partitions = await partitions_of(bootstrap, topics)
    consumer = committed_reader(bootstrap)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
        behind = [tp for tp in partitions if committed.get(tp, 0) < ends[tp]]
        if not behind:
            return True
        consumer.assign(behind)
        for tp in behind:
            if tp in committed:
                consumer.seek(tp, committed[tp])
            else:
                await consumer.seek_to_beginning(tp)
        while behind:
            batches = await consumer.getmany(*behind, timeout_ms=200)
            if any(batches.values()):
                return False
            behind = [tp for tp in behind if await consumer.position(tp) < ends[tp]]
        return True
    finally:
        await consumer.stop()


async def wait_caught_up(
    bootstrap: str,
    group: str,
    topics: Sequence[str],
    *,
    timeout: float,
    check: Callable[[], None] | None = None,
) -> float:
    """Wait until :func:`is_caught_up`; return the seconds waited (TimeoutError after timeout).

    ``check`` runs before every poll and may raise to give up early (a worker died).
    """
    started = time.monotonic()
    while True:
        if check is not None:
            check()
        if await is_caught_up(bootstrap, group, topics):
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"group {group!r} not caught up on {list(topics)} after {timeout}s")
        await asyncio.sleep(CAUGHT_UP_POLL_SECONDS)


async def partitions_of(bootstrap: str, topics: Iterable[str]) -> list[TopicPartition]:
    """Every partition of the topics; KeyError names a topic that does not exist."""
    wanted = list(topics)
    async with admin_client(bootstrap) as admin:
        missing = set(wanted) - set(await admin.list_topics())
        if missing:
            raise KeyError(f"topics do not exist: {sorted(missing)}")
        described = await admin.describe_topics(wanted)
    return sorted(
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        for partition in topic["partitions"]
    )


def describe_offsets(offsets: Mapping[TopicPartition, int]) -> list[str]:
    """One ``topic[partition] -> offset`` line per partition, sorted."""
    return [f"{tp.topic}[{tp.partition}] -> {offset}" for tp, offset in sorted(offsets.items())]
