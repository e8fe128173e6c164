"""What the tables' changelog topics hold: each table's latest state, and how big it is.

Faust names a table's changelog ``{app id}-{table}-changelog`` (``faust/tables/base.py``
``_changelog_topic_name``), and the app id carries the version (``shop-v2`` for
version 2, see :func:`ecommerce_streams.operations.consumer_group.group_id`). Read to its end with
``read_committed``, a changelog gives the latest committed value of every key; a record
without a value (a tombstone) deletes its key. Compaction may or may not have run: the
answer is the same either way. A key is identified together with its partition: Faust
writes a change to the partition of the event that made it, so a table fed from a
topic keyed otherwise (``windows``, fed by order events) holds one entry per partition.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ecommerce_streams.harness.verify.reading import TopicReader
from ecommerce_streams.kafka_admin import admin_client
from ecommerce_streams.operations.consumer_group import group_id

TableState = dict[tuple[int, bytes], bytes]
"""(partition, serialized key) -> serialized latest value, of one table."""


def app_tables() -> tuple[str, ...]:
    """The name of every table the app declares, in declaration order."""
    from ecommerce_streams.worker.app import app
    from ecommerce_streams.worker.run import load_services

    load_services()
    return tuple(app.tables)


#: The end of every changelog topic's name.
CHANGELOG_SUFFIX = "-changelog"


def changelog_topic(app_id: str, version: int, table: str) -> str:
    """The changelog topic of ``table`` in ``app_id`` at ``version``."""
    return f"{group_id(app_id, version)}-{table}{CHANGELOG_SUFFIX}"


def tables_with_changelogs(topics: Iterable[str], app_id: str, version: int) -> list[str]:
    """The tables of ``app_id`` at ``version`` whose changelog topics are among ``topics``."""
    prefix = f"{group_id(app_id, version)}-"
    return sorted(
        topic[len(prefix) : -len(CHANGELOG_SUFFIX)]
        for topic in topics
        if topic.startswith(prefix) and topic.endswith(CHANGELOG_SUFFIX)
    )


@dataclass(frozen=True)
class ChangelogContents:
    """Everything read from some changelogs: latest state per table, and the volume read."""

    tables: Mapping[str, TableState]
    records: int
    bytes: int
    missing: tuple[str, ...] = ()
    """Changelog topics that do not exist (their tables read as empty)."""

    @property
    def keys(self) -> int:
        """Live keys over all the tables."""
        return sum(len(state) for state in self.tables.values())


async def read_tables(
    bootstrap: str, app_id: str, version: int, tables: Iterable[str]
) -> ChangelogContents:
    """Read the tables' changelogs (read_committed) to their end; a missing one is empty."""
    topics = {changelog_topic(app_id, version, table): table for table in tables}
    async with admin_client(bootstrap) as admin:
        missing = tuple(sorted(set(topics) - set(await admin.list_topics())))
    async with TopicReader(bootstrap, list(topics)) as reader:
        await reader.catch_up()
    states: dict[str, TableState] = {table: {} for table in topics.values()}
    records = size = 0
    for topic, table in topics.items():
        state = states[table]
        for record in reader.records[topic]:
            records += 1
            size += len(record.key or b"") + len(record.value or b"")
            key = (record.partition, record.key or b"")
            if record.value is None:
                state.pop(key, None)
            else:
                state[key] = record.value
    return ChangelogContents(states, records, size, missing)


@dataclass(frozen=True)
class RestoreRate:
    """How fast a worker rebuilt its tables from their changelogs."""

    records: int
    keys: int
    bytes: int
    seconds: float

    @property
    def keys_per_second(self) -> float:
        """Live keys restored per second."""
        return self.keys / self.seconds

    @property
    def records_per_second(self) -> float:
        """Changelog records replayed per second."""
        return self.records / self.seconds

    @property
    def megabytes_per_second(self) -> float:
        """Changelog megabytes (10^6 bytes, keys and values) replayed per second."""
        return self.bytes / 1e6 / self.seconds

    def __str__(self) -> str:
        return (
            f"restored {self.keys} keys ({self.records} changelog records, "
            f"{self.bytes / 1e6:.2f} MB) in {self.seconds:.1f} s: "
            f"{self.keys_per_second:.0f} keys/s, {self.records_per_second:.0f} records/s, "
            f"{self.megabytes_per_second:.3f} MB/s"
        )


def restore_rate(contents: ChangelogContents, seconds: float) -> RestoreRate:
    """The rate of a restore of ``contents`` that took ``seconds`` (start to ``/ready``)."""
    return RestoreRate(contents.records, contents.keys, contents.bytes, seconds)
