"""Local table state that never outlives what Kafka committed."""

import shutil
from pathlib import Path
from typing import Any

import faust
import faust.stores
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

    It opens its databases with the app's ``rocksdb_options`` (Faust's defaults give
    every table partition 3 x 64 MiB of memtables and a 2 GiB block cache).

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
