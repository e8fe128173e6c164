"""Local table state that never outlives what Kafka committed."""

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust
import faust.stores
import rocksdict
from faust.stores import rocksdb as rocksdb_store
from faust.types import TP, AppT
from faust.types.enums import ProcessingGuarantee

from ecommerce_streams import metrics
from ecommerce_streams.exactly_once.outbox import CommittedChanges
from ecommerce_streams.exactly_once.repairs import Repair, repaired
from ecommerce_streams.exactly_once.write_cache import CachedTable

_ABSENT = object()
_DELETED = object()


class FreshPartitionStore(rocksdb_store.Store):
    """RocksDB store that forgets a table partition when the worker loses it (gap 7).

    Faust keeps a revoked partition's RocksDB files and, if the partition comes back,
    restores only the changelog written since its own last commit. Those files can
    hold writes whose transaction was then aborted (the partition moved away before
    its commit), so the table would resurrect effects that never happened. Deleting
    the partition's files on revocation makes a returning partition restore from
    the read-committed changelog alone.

    It opens its databases with the app's ``rocksdb_options`` and one block cache per
    worker that the memtables are charged to (Faust's defaults give every table
    partition 3 x 64 MiB of memtables and a 2 GiB block cache of its own).

    The store also remembers which partitions are *current*: restored completely and
    owned without a break since. Their files hold this worker's own writes, some of
    them in a transaction still open, so they must never be restored over again.

    Under exactly-once with the write cache, a write waits for the commit
    (``deferred-store-writes``): the store keeps the decoded value, reads find it there,
    and once the transactions have committed, each changed key is written once, with the
    bytes of its changelog record and, in the same RocksDB write batch, the offset of the
    partition's last changelog record (:meth:`write_committed`). Faust encoded and wrote
    every change at once, and decoded every read from RocksDB, a key the saga rewrites
    five times in a commit costing five encodings and writes and as many decodings.

    The files then hold committed changes only, up to the offset they name
    (``kept-local-state``): a worker killed with -9, or a partition that moves away and
    back, keeps them and restores only the changelog written after that offset.
    """

    def __init__(
        self, url: Any, app: AppT, table: Any, *, options: Any = None, **kwargs: Any
    ) -> None:
        # the app's memory budget, unless the table sets its own
        options = {**getattr(app, "rocksdb_options", {}), **(options or {})}
        super().__init__(url, app, table, options=options, **kwargs)
        if self.use_rocksdict:
            self.rocksdb_options = SharedMemoryOptions(
                memory_of(app, self.rocksdb_options.block_cache_size),
                **(self.options or {}),
                use_rocksdict=True,
            )
        self._current: set[int] = set()
        #: Changes of the open transactions by (partition, key), decoded (``_DELETED`` for
        #: a deletion): a key may live in several partitions (``windows`` keeps a total
        #: per partition), and Faust reads and writes the current event's partition.
        self._pending: dict[tuple[int, Any], Any] = {}

    def is_current(self, partition: int) -> bool:
        """Whether this partition was restored and has been owned without a break since."""
        return partition in self._current

    def mark_current(self, partition: int) -> None:
        """Record that this partition holds every committed record of its changelog."""
        self._current.add(partition)

    def defers_writes(self) -> bool:
        """Whether a write waits for the commit (in a transaction, with the write cache)."""
        caches_writes = getattr(self.table, "caches_writes", None)
        return bool(
            caches_writes is not None
            and caches_writes()
            and repaired(self.app, Repair.DEFERRED_STORE_WRITES)
        )

    def __getitem__(self, key: Any) -> Any:
        pending = self._pending_change(key)
        if pending is _ABSENT:
            return super().__getitem__(key)
        if pending is _DELETED:
            raise KeyError(key)
        return pending

    def __contains__(self, key: object) -> bool:
        pending = self._pending_change(key)
        if pending is _ABSENT:
            return super().__contains__(key)
        return pending is not _DELETED

    def __setitem__(self, key: Any, value: Any) -> None:
        partition = _event_partition()
        if partition is not None and self.defers_writes():
            self._pending[(partition, key)] = value
        else:
            super().__setitem__(key, value)
            self._count_write()

    def __delitem__(self, key: Any) -> None:
        partition = _event_partition()
        if partition is not None and self.defers_writes():
            self._pending[(partition, key)] = _DELETED
        else:
            super().__delitem__(key)
            self._count_write()

    def _pending_change(self, key: object) -> Any:
        """The open transactions' change of ``key`` in the current event's partition.

        Without an event (a web view) the committed state is read, as Faust finds it.
        """
        if not self._pending:
            return _ABSENT
        partition = _event_partition()
        return _ABSENT if partition is None else self._pending.get((partition, key), _ABSENT)

    def _count_write(self, writes: int = 1) -> None:
        metrics.labelled(metrics.table_store_writes, self.table.name).inc(writes)

    def keeps_files(self) -> bool:
        """Whether the files hold committed changes only, so they outlive crashes and moves."""
        return self.defers_writes() and repaired(self.app, Repair.KEPT_LOCAL_STATE)

    def write_committed(self, partition: int, changes: CommittedChanges, offset: int) -> None:
        """Write a partition's committed changes and its last changelog offset in one batch.

        ``changes`` maps each table key to its raw key and raw value (None deletes), the
        bytes of its changelog record; ``offset`` is the offset of the partition's last
        changelog record they came with.
        """
        batch = rocksdict.WriteBatch(raw_mode=True)
        for key, (raw_key, raw_value) in changes.items():
            if self._pending.pop((partition, key), _ABSENT) is _ABSENT:
                continue  # written at once (no transaction when it was made)
            if raw_value is None:
                batch.delete(raw_key)
                self._key_index.pop(raw_key, None)
            else:
                batch.put(raw_key, raw_value)
                self._key_index[raw_key] = partition
        if batch.is_empty():
            return
        self._count_write(len(batch))
        batch.put(self.offset_key, str(offset).encode())
        self._db_for_partition(partition).write(batch)

    def items_from(self, partition: int, key: Any = None) -> Iterator[tuple[Any, Any]]:
        """A partition's entries as its files hold them, decoded, in RocksDB order from ``key``.

        ``key`` is a table key (None: the partition's first); iteration starts at its
        encoded bytes, or at the next stored key when it is gone. The files lag the open
        transactions (``deferred-store-writes``): their changes are not among the entries,
        and neither is the partition's changelog offset.
        """
        start = None if key is None else self._encode_key(key)
        for raw_key, raw_value in self._db_for_partition(partition).items(from_key=start):
            if raw_key != self.offset_key:
                yield self._decode_key(raw_key), self._decode_value(raw_value)

    def drop_partition(self, partition: int) -> None:
        """Close and delete a partition's files: it restores from the changelog's start."""
        db = self._dbs.pop(partition, None)
        if db is not None:
            db.close()
        shutil.rmtree(self.partition_path(partition), ignore_errors=True)
        self._key_index.clear()
        self._current.discard(partition)

    def revoke_partitions(self, table: Any, tps: set[TP]) -> None:
        """Close the files of each revoked partition, and delete them unless they are kept."""
        self._pending.clear()  # committed or aborted before a revocation
        revoked = [tp.partition for tp in tps if tp.topic in table.changelog_topic.topics]
        for partition in revoked:
            self._current.discard(partition)
        if not repaired(self.app, Repair.FRESH_STATE):
            return super().revoke_partitions(table, tps)
        keep = self.keeps_files()
        for partition in revoked:
            if keep:
                db = self._dbs.pop(partition, None)
                if db is not None:
                    db.close()
            else:
                self.drop_partition(partition)
        self._key_index.clear()
        return None


def _event_partition() -> int | None:
    """The partition of the event being processed, or None outside of one."""
    event = faust.current_event()
    return None if event is None else int(event.message.partition)


@dataclass(frozen=True)
class SharedMemory:
    """One block cache per worker, with every memtable charged to it."""

    cache: rocksdict.Cache
    write_buffers: rocksdict.WriteBufferManager


def memory_of(app: AppT, capacity: int) -> SharedMemory:
    """The worker's RocksDB memory, created on first use with ``capacity`` bytes."""
    memory = getattr(app, "_es_rocksdb_memory", None)
    if memory is None:
        cache = rocksdict.Cache(capacity)
        write_buffers = rocksdict.WriteBufferManager.new_write_buffer_manager_with_cache(
            capacity // 2, False, cache
        )
        memory = SharedMemory(cache, write_buffers)
        # Our state rides on Faust's app object, whose type does not declare it.
        app._es_rocksdb_memory = memory  # type: ignore[attr-defined]
    return memory


class SharedMemoryOptions(rocksdb_store.RocksDBOptions):
    """RocksDB options whose databases share one worker-wide memory budget.

    Faust gives every table partition its own block cache and memtables, so a worker's
    memory grows with tables x partitions (5 x 4 databases here). Sharing one cache and
    charging the memtables to it bounds RocksDB's memory per worker, however many
    partitions it owns.
    """

    def __init__(self, memory: SharedMemory, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._memory = memory

    def as_options(self) -> rocksdict.Options:
        """Faust's options, with the shared block cache and write buffer manager."""
        options = rocksdict.Options(raw_mode=True)
        options.create_if_missing(True)
        if self.max_open_files is not None:
            options.set_max_open_files(self.max_open_files)
        options.set_write_buffer_size(self.write_buffer_size)
        options.set_target_file_size_base(self.target_file_size_base)
        options.set_max_write_buffer_number(self.max_write_buffer_number)
        options.set_write_buffer_manager(self._memory.write_buffers)
        table = rocksdict.BlockBasedOptions()
        table.set_bloom_filter(self.bloom_filter_size, block_based=True)
        table.set_block_cache(self._memory.cache)
        table.set_index_type(rocksdict.BlockBasedIndexType.binary_search())
        options.set_block_based_table_factory(table)
        return options


faust.stores.STORES.aliases["fresh-rocksdb"] = f"{__name__}:FreshPartitionStore"


def keeps_local_state(app: AppT) -> bool:
    """Whether every table's local files hold committed changes only (``kept-local-state``).

    True under exactly-once when every table caches its writes for the commit and its
    store defers them until the transactions commit: then no file holds a write of an
    aborted transaction, and a crashed worker's files are kept.
    """
    # not app.in_transaction: Faust caches it, and before the worker runs it is False.
    # Faust's settings type declares the enum class, not a member, hence Any.
    guarantee: Any = app.conf.processing_guarantee
    return (
        guarantee == ProcessingGuarantee.EXACTLY_ONCE
        and all(
            repaired(app, repair)
            for repair in (
                Repair.WRITE_CACHE,
                Repair.DEFERRED_STORE_WRITES,
                Repair.KEPT_LOCAL_STATE,
            )
        )
        and all(isinstance(table, CachedTable) for table in app.tables.values())
        and issubclass(faust.stores.by_url(app.conf.store), FreshPartitionStore)
    )


#: Kept files last written longer ago than this may miss deletions: a compacted changelog
#: drops a tombstone this long after it was written (Kafka's ``delete.retention.ms``
#: default), so a restore from the files' offset would never see it.
KEPT_STATE_MAX_AGE_SECONDS = 24 * 3600.0


def written_recently(tabledir: Path, now: float) -> bool:
    """Whether a file under ``tabledir`` was written within ``KEPT_STATE_MAX_AGE_SECONDS``.

    RocksDB appends every write to its log, so the newest file tells when the tables were
    last written; ``now`` is wall-clock time (``time.time()``).
    """
    newest = max((f.stat().st_mtime for f in tabledir.rglob("*") if f.is_file()), default=None)
    return newest is not None and now - newest <= KEPT_STATE_MAX_AGE_SECONDS


def discard_local_state(tabledir: Path) -> bool:
    """Delete local table state so tables restore from their read-committed changelogs.

    After a crash the RocksDB files may hold writes of transactions that were aborted
    (unless :func:`keeps_local_state`); Faust would keep them and re-read only the
    changelog tail. Returns whether anything was deleted.
    """
    if not tabledir.exists():
        return False
    shutil.rmtree(tabledir)
    return True
