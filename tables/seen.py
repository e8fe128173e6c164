"""Table ``seen``: event ids already applied by each stage, for deduplication.

Entries expire after ``ES_DEDUP_WINDOW_SECONDS`` of *event-log* time (the Kafka
timestamps of the messages being processed), so a replay makes the same decisions.
Expired entries are deleted by a sweep that takes a bounded turn every
``SWEEP_EVERY`` ids remembered in a partition, inside the processing of the event that
remembered the last of them: a Faust table can only be written from stream context, and
that keeps each deletion in the same transaction as that event. A turn examines the
next ``SWEEP_EVERY * SWEEP_RATE`` stored entries from where the last turn stopped, so
no turn reads a whole partition. RocksDB's TTL option is never used: it drops live
entries at compaction.
"""

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from faust.types import EventT, Message

from ecommerce_streams import metrics
from ecommerce_streams.exactly_once.local_state import FreshPartitionStore
from ecommerce_streams.worker.app import app, settings
from models.redrive import REDRIVEN_HEADER

seen = app.Table(
    "seen",
    key_type=str,
    value_type=float,
    partitions=settings.partitions,
    help="First-seen log time per '<stage>/<event id>'.",
)

SWEEP_EVERY = 100
"""A partition's sweep takes a turn once in this many ids remembered there."""
SWEEP_RATE = 2
"""Entries a turn examines per id remembered. Above 1, the sweep laps a partition faster
than it grows: a partition holds at most about twice the ids of one window."""


@dataclass
class _Sweep:
    """Where one partition's sweep for expired ids stands."""

    remembered: int = 0
    resume_at: str | None = None
    """The table key the next turn starts at (None: the partition's first)."""


_sweeps: defaultdict[int, _Sweep] = defaultdict(_Sweep)


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
    """Record that this stage applied the event id at the message's log time; sweep in turn."""
    message = event.message
    seen[seen_key(stage, event_id)] = message.timestamp
    sweep = _sweeps[message.partition]
    sweep.remembered += 1
    if sweep.remembered >= SWEEP_EVERY:
        sweep.remembered = 0
        forget_expired(message.partition, sweep, message.timestamp - settings.dedup_window_seconds)


def forget_expired(partition: int, sweep: _Sweep, horizon: float) -> int:
    """One turn of a partition's sweep: delete the expired among its next stored entries."""
    store = seen.data
    if not isinstance(store, FreshPartitionStore):
        raise TypeError(
            f"the seen table's expiry sweep reads a FreshPartitionStore, not {type(store)}: "
            "give the app the store 'fresh-rocksdb://'"
        )
    stored, sweep.resume_at = next_slice(
        store.items_from(partition, sweep.resume_at), SWEEP_EVERY * SWEEP_RATE
    )
    first_seen = [(_text(key), float(value)) for key, value in stored]
    expired = expired_keys(first_seen, seen.get, horizon)
    for key in expired:
        del seen[key]
    metrics.dedup_ids_expired.inc(len(expired))
    return len(expired)


K = TypeVar("K")
V = TypeVar("V")


def next_slice(items: Iterable[tuple[K, V]], limit: int) -> tuple[list[tuple[K, V]], K | None]:
    """Up to ``limit`` stored entries, and the key of the one after them (None: the end)."""
    taken: list[tuple[K, V]] = []
    for key, value in items:
        if len(taken) == limit:
            return taken, key
        taken.append((key, value))
    return taken, None


def expired_keys(
    stored: Iterable[tuple[str, float]], current: Callable[[str], float | None], horizon: float
) -> list[str]:
    """Keys first seen before ``horizon``, as stored and as the table reads them now.

    The store's files lag the open transactions (deferred-store-writes): an entry written
    again since, after it had expired, is young in the table and must stay; one already
    deleted there (a lap of the sweep within one transaction) needs no second tombstone.
    """
    return [key for key, first in stored if first < horizon and _older(current(key), horizon)]


def _older(first_seen: float | None, horizon: float) -> bool:
    return first_seen is not None and first_seen < horizon


def _text(key: str | bytes) -> str:
    return key.decode() if isinstance(key, bytes) else key
