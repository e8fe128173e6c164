"""The outbox writes each table change as the changelog record Faust's codecs would write."""

from typing import Any

import faust
import pytest

import tables.analytics  # each module defines its tables on the worker's app
import tables.orders
import tables.seen
import tables.stock  # noqa: F401
from bench.domain import run_saga, source_messages
from ecommerce_streams.exactly_once.outbox import encode_change
from ecommerce_streams.worker.app import app

SAGA = run_saga(source_messages(300))


def faust_record(table: faust.Table[Any, Any], key: Any, value: Any) -> tuple[bytes, Any]:
    """The changelog key and value Faust's serializers write for a change."""
    changelog = table.changelog_topic
    raw_key = changelog.prepare_key(key, table.key_serializer)[0]
    if value is None:
        return raw_key, None
    return raw_key, changelog.prepare_value(value, table.value_serializer)[0]


@pytest.mark.parametrize("name", sorted(SAGA.tables))
def test_every_saga_table_change_is_written_as_faust_writes_it(name: str) -> None:
    table = app.tables[name]
    changes = list(SAGA.tables[name].items())
    assert changes
    for key, value in changes:
        assert encode_change(table, key, value) == faust_record(table, key, value)


@pytest.mark.parametrize("name", sorted(SAGA.tables))
def test_a_deleted_key_is_written_as_faust_writes_its_tombstone(name: str) -> None:
    table = app.tables[name]
    key = next(iter(SAGA.tables[name]))
    assert encode_change(table, key, None) == faust_record(table, key, None)


@pytest.mark.parametrize("when", [0.0, 1764633600.123456, 1e-7, 2.5e15])
def test_a_seen_event_id_is_written_as_faust_writes_it(when: float) -> None:
    table = app.tables["seen"]
    key = "orders/6e1f0b5e-3a43-4a2f-9c57-0d5d2b1f9c11"
    assert encode_change(table, key, when) == faust_record(table, key, when)


def test_keys_beyond_ascii_are_written_as_faust_writes_them() -> None:
    table = app.tables["orders"]
    value = next(iter(SAGA.tables["orders"].values()))
    for key in ["ordre-é", "注文-1", "emoji-🛒", 'quote-"-\\']:
        assert encode_change(table, key, value) == faust_record(table, key, value)


def test_a_value_with_escaped_and_non_ascii_text_is_written_as_faust_writes_it() -> None:
    table = app.tables["orders"]
    state = next(iter(SAGA.tables["orders"].values()))
    value = state.model_copy(update={"reason": '\x00\x1f\x7f\u2028é🛒"\\/\b\f\n\r\t'})
    assert encode_change(table, state.order_id, value) == faust_record(table, state.order_id, value)
