"""A saga table's ``get`` reads its store once and answers as Faust's ``get`` does."""

import itertools
import os
from typing import Any

import faust

from ecommerce_streams.exactly_once import CachedTable

_names = itertools.count()


class CountingStore(dict[Any, Any]):
    """A table's store that counts how often it is asked for a key."""

    lookups = 0

    def __getitem__(self, key: Any) -> Any:
        self.lookups += 1
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.lookups += 1
        return super().__contains__(key)


def a_table(**options: Any) -> tuple[CachedTable, CountingStore]:
    """A table of a never-started app, with a counting store."""
    app = faust.App(f"table-reads-{os.getpid()}-{next(_names)}", Table=CachedTable)
    table = app.Table(f"stock-{next(_names)}", **options)
    assert isinstance(table, CachedTable)
    store = CountingStore()
    table._data = store
    return table, store


def test_reading_a_stored_key_asks_the_store_once() -> None:
    table, store = a_table()
    dict.__setitem__(store, "sku-1", 7)
    assert table.get("sku-1") == 7
    assert store.lookups == 1


def test_reading_a_missing_key_asks_the_store_once_and_gives_the_default() -> None:
    table, store = a_table()
    assert table.get("sku-2") is None
    assert table.get("sku-2", 0) == 0
    assert store.lookups == 2


def test_a_table_with_a_default_gives_it_for_a_missing_key_as_faust_does() -> None:
    table, _ = a_table(default=int)
    assert table.get("sku-3") == 0
    assert table.get("sku-3", 5) == 0
    assert "sku-3" not in table
