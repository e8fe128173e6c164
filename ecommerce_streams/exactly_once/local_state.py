"""Local table state that never outlives what Kafka committed."""

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust
import faust.stores
import rocksdict
from faust.stores import rocksdb as rocksdb_store
from faust.types import TP, AppT

from ecommerce_streams.exactly_once.repairs import Repair, repaired


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

    def is_current(self, partition: int) -> bool:
        """Whether this partition was restored and has been owned without a break since."""
        return partition in self._current

    def mark_current(self, partition: int) -> None:
        """Record that this partition holds every committed record of its changelog."""
        self._current.add(partition)

    def revoke_partitions(self, table: Any, tps: set[TP]) -> None:
        """Close and delete the files of each revoked partition of this table."""
        for tp in tps:
            if tp.topic in table.changelog_topic.topics:
                self._current.discard(tp.partition)
        if not repaired(self.app, Repair.FRESH_STATE):
            return super().revoke_partitions(table, tps)
        for tp in tps:
            if tp.topic in table.changelog_topic.topics:
                db = self._dbs.pop(tp.partition, None)
                if db is not None:
                    db.close()
                shutil.rmtree(self.partition_path(tp.partition), ignore_errors=True)
        self._key_index.clear()
        return None


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


def discard_local_state(tabledir: Path) -> bool:
    """Delete local table state so tables restore from their read-committed changelogs.

    After a crash the RocksDB files may hold writes of transactions that were aborted;
    Faust would keep them and re-read only the changelog tail. Returns whether
    anything was deleted.
    """
    if not tabledir.exists():
        return False
    shutil.rmtree(tabledir)
    return True
