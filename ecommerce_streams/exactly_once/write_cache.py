"""Tables whose changelog gets one record per changed key per transaction (the write cache)."""

from typing import Any

import faust

from ecommerce_streams.exactly_once.outbox import outbox_of
from ecommerce_streams.exactly_once.repairs import Repair, repaired


class CachedTable(faust.Table[Any, Any]):
    """A table that writes its store at once and its changelog through the outbox.

    Faust writes a changelog record for every ``table[key] = value``; under exactly-once
    the outbox keeps the last change of each key and writes it when the transaction
    commits, so reads see their own writes and the changelog holds one record per key
    and transaction. Without a transaction (at-least-once) Faust's path is kept.
    """

    def get(self, key: Any, default: Any = None) -> Any:
        """The key's value (or the table's default, else ``default``), in one store lookup.

        Faust's ``get`` asks the store whether the key is there, then for its value: two
        RocksDB reads and two key encodings per read of the saga's state.
        """
        self.on_key_get(key)
        try:
            return self.data[key]
        except KeyError:
            pass
        try:
            return self.__missing__(key)
        except KeyError:
            return default

    def on_key_set(self, key: Any, value: Any) -> None:
        """Store the change for the commit instead of sending it now."""
        if not self.caches_writes():
            return super().on_key_set(key, value)
        outbox_of(self.app).change(self, self._partition_of(key), key, value)
        self._sensor_on_set(self, key, value)
        return None

    def on_key_del(self, key: Any) -> None:
        """Store the deletion for the commit (a tombstone) instead of sending it now."""
        if not self.caches_writes():
            return super().on_key_del(key)
        outbox_of(self.app).change(self, self._partition_of(key), key, None)
        self._sensor_on_del(self, key)
        return None

    def caches_writes(self) -> bool:
        """Whether changes reach the changelog through the outbox (in a transaction)."""
        return bool(self.app.in_transaction) and repaired(self.app, Repair.WRITE_CACHE)

    def _partition_of(self, key: Any) -> int:
        partition = self.partition_for_key(key)
        if partition is None:  # only with use_partitioner, which no table of ours sets
            raise TypeError(f"table {self.name!r} must be partitioned by its source")
        return partition
