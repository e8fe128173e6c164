"""Table ``seen``: event ids already applied by each stage, for deduplication.

Entries expire after ``ES_DEDUP_WINDOW_SECONDS`` of *event-log* time (the Kafka
timestamps of the messages being processed), so a replay makes the same decisions.
Expired entries are deleted by the purge, which runs inside the processing of an
event of the same partition: a Faust table can only be written from stream context,
and that keeps each deletion in the same transaction as the event that triggered it.
RocksDB's TTL option is never used: it drops live entries at compaction.
"""

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from faust.types import EventT, Message

from ecommerce_streams.worker.app import app, settings
from models.redrive import REDRIVEN_HEADER

seen = app.Table(
    "seen",
    key_type=str,
    value_type=float,
    partitions=settings.partitions,
    help="First-seen log time per '<stage>/<event id>'.",
)

_next_purge_at: dict[int, float] = {}


def guards(message: Message, *, exactly_once: bool, shared_topics: Collection[str]) -> bool:
    """Whether this stage may see this message twice, so its event id must be checked.

    Shops and redrives can send an event twice. Under exactly-once an agent's own
    outputs commit with their input, so an internal hop read by one agent cannot repeat;
    a topic two agents read can: a commit may cover outputs of the faster reader past
    the committed offset (which waits for the slower), and those events come back after
    a crash. ``shared_topics`` are those checked here for that reason (none in the saga,
    whose stages that read one topic run in one agent). At-least-once can repeat anything,
    and checks everything.
    """
    if not exactly_once or message.topic in shared_topics:
        return True
    if message.topic in settings.topics.sources():
        return True
    return any(key == REDRIVEN_HEADER for key, _ in _header_items(message.headers))


def _header_items(
    headers: Mapping[str, object] | Iterable[tuple[str, object]] | None,
) -> list[tuple[str, object]]:
    """A message's headers as pairs (Faust gives a mapping or a list of pairs)."""
    if not headers:
        return []
    if isinstance(headers, Mapping):
        return list(headers.items())
    return list(headers)


def seen_key(stage: str, event_id: object) -> str:
    """Key of one event id as seen by one stage."""
    return f"{stage}/{event_id}"


def is_duplicate(stage: str, event_id: object, event: EventT[bytes]) -> bool:
    """Whether this stage applied the event id within the window before this message."""
    first_seen = seen.get(seen_key(stage, event_id))
    if first_seen is None:
        return False
    return bool(event.message.timestamp - first_seen < settings.dedup_window_seconds)


def remember(stage: str, event_id: object, event: EventT[bytes]) -> None:
    """Record that this stage applied the event id, at the message's log time."""
    seen[seen_key(stage, event_id)] = event.message.timestamp


def purge_expired(event: EventT[bytes]) -> int:
    """Delete this partition's entries older than the window, at most once per interval."""
    partition = event.message.partition
    now = event.message.timestamp
    if now < _next_purge_at.get(partition, 0.0):
        return 0
    _next_purge_at[partition] = now + settings.dedup_purge_interval_seconds
    horizon = now - settings.dedup_window_seconds
    expired = expired_keys(_partition_items(partition), seen.get, horizon)
    for key in expired:
        del seen[key]
    return len(expired)


def expired_keys(
    stored: Iterable[tuple[str, float]], current: Callable[[str], float | None], horizon: float
) -> list[str]:
    """Keys first seen before ``horizon``, as stored and as the table reads them now.

    The store's files lag the open transaction (deferred-store-writes): an entry written
    again since, after it had expired, is young in the table and must stay.
    """
    return [key for key, first in stored if first < horizon and (current(key) or 0.0) < horizon]


def _partition_items(partition: int) -> list[tuple[str, float]]:
    """Entries stored in one partition's RocksDB (the store keeps one DB per partition)."""
    store: Any = seen.data  # faust.stores.rocksdb.Store, whose per-partition API is untyped
    db = store._db_for_partition(partition)
    return [
        (_text(store._decode_key(key)), float(store._decode_value(value)))
        for key, value in store._visible_items(db)
    ]


def _text(key: str | bytes) -> str:
    return key.decode() if isinstance(key, bytes) else key
