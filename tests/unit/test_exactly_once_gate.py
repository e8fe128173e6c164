"""The processing gate: commits happen only between units of work, never after a failure."""

import asyncio

import pytest
from faust.types import TP

from ecommerce_streams.exactly_once import (
    ProcessingGate,
    Repair,
    TransactionPoisoned,
    parse_repairs,
)
from ecommerce_streams.exactly_once.gate import DEFAULT_COMMIT_MAX_EVENTS
from ecommerce_streams.exactly_once.repairs import NOT_PAYING, UNPROVEN
from ecommerce_streams.settings import Settings
from ecommerce_streams.worker.app import ShopApp


async def test_commit_waits_until_the_unit_in_flight_finishes() -> None:
    gate = ProcessingGate()
    order: list[str] = []
    unit_started = asyncio.Event()
    finish_unit = asyncio.Event()

    async def unit() -> None:
        async with gate.unit():
            unit_started.set()
            await finish_unit.wait()
            order.append("unit done")

    async def commit() -> None:
        async with gate.exclusive():
            order.append("commit")

    worker = asyncio.create_task(unit())
    await unit_started.wait()
    committer = asyncio.create_task(commit())
    await asyncio.sleep(0)
    assert order == []
    finish_unit.set()
    await asyncio.gather(worker, committer)
    assert order == ["unit done", "commit"]


async def test_no_unit_starts_while_a_commit_holds_the_gate() -> None:
    gate = ProcessingGate()
    order: list[str] = []
    committing = asyncio.Event()
    finish_commit = asyncio.Event()

    async def commit() -> None:
        async with gate.exclusive():
            committing.set()
            await finish_commit.wait()
            order.append("commit done")

    async def unit() -> None:
        async with gate.unit():
            order.append("unit")

    committer = asyncio.create_task(commit())
    await committing.wait()
    worker = asyncio.create_task(unit())
    await asyncio.sleep(0)
    assert order == []
    finish_commit.set()
    await asyncio.gather(committer, worker)
    assert order == ["commit done", "unit"]


async def test_a_failed_unit_forbids_every_later_commit() -> None:
    gate = ProcessingGate()
    with pytest.raises(ValueError):
        async with gate.unit():
            raise ValueError("half-processed event")

    with pytest.raises(TransactionPoisoned):
        async with gate.exclusive():
            pytest.fail("a commit ran after a failed unit of work")


async def test_a_failed_commit_forbids_every_later_commit() -> None:
    gate = ProcessingGate()
    with pytest.raises(RuntimeError):
        async with gate.exclusive():
            raise RuntimeError("commit_transaction failed")

    with pytest.raises(TransactionPoisoned):
        async with gate.exclusive():
            pytest.fail("a commit ran after a failed commit")


def test_all_means_every_repair_and_speed_up() -> None:
    assert parse_repairs("all") == frozenset(Repair)
    assert parse_repairs("") == parse_repairs("default")


def test_repairs_can_be_dropped_one_by_one_or_all_at_once() -> None:
    assert parse_repairs("none") == frozenset()
    assert parse_repairs("fail-fast,fresh-state") == {Repair.FAIL_FAST, Repair.FRESH_STATE}


def test_an_unknown_repair_name_is_an_error() -> None:
    with pytest.raises(ValueError):
        parse_repairs("-no-such-repair")


def test_the_offset_to_commit_follows_the_last_event_processed_even_after_a_seek_back() -> None:
    gate = ProcessingGate()
    orders_3 = TP("orders", 3)
    for offset in (10, 11, 14):  # 12 and 13 are transaction markers: never processed
        gate.record_processed(orders_3, offset)
    assert gate.processed == {orders_3: 15}

    gate.record_processed(orders_3, 11)  # processing resumed from an earlier commit
    assert gate.processed == {orders_3: 12}


def test_a_committed_or_revoked_partition_has_nothing_left_to_commit() -> None:
    gate = ProcessingGate()
    orders_3, payments_1 = TP("orders", 3), TP("payments", 1)
    gate.record_processed(orders_3, 20)
    gate.record_processed(payments_1, 7)

    gate.forget_committed({orders_3: 21, payments_1: 5})  # payments_1 moved on since
    assert gate.processed == {payments_1: 8}

    gate.forget_partitions({payments_1})
    assert gate.processed == {}


def test_one_producer_per_worker_runs_by_default_with_the_adoption_of_removed_workers() -> None:
    assert {Repair.WORKER_TRANSACTIONS, Repair.ORPHANED_TRANSACTIONS} <= parse_repairs("default")
    assert Repair.WORKER_TRANSACTIONS not in parse_repairs("-worker-transactions")


def test_by_default_every_proven_repair_runs_and_one_can_be_dropped_by_name() -> None:
    assert parse_repairs("default") == frozenset(Repair) - UNPROVEN - NOT_PAYING
    assert parse_repairs("all") == frozenset(Repair)
    assert parse_repairs("-commit-gate") == parse_repairs("default") - {Repair.COMMIT_GATE}


def test_overlapped_commits_are_off_by_default_and_can_be_added_by_name() -> None:
    # They cost produce retries (KIP-890 verification) and, in four interleaved pairs, a
    # backlog drained slower with more CPU per event (bench/results/overlap-ab-20261203).
    assert Repair.OVERLAPPED_COMMITS not in parse_repairs("default")
    assert Repair.OVERLAPPED_COMMITS in parse_repairs("default,overlapped-commits")
    assert Repair.OVERLAPPED_COMMITS in parse_repairs("all")


def test_a_backlog_commit_round_takes_4000_events_or_2_seconds_by_default() -> None:
    settings = Settings()
    gate = ProcessingGate()
    backlog: asyncio.Queue[int] = asyncio.Queue()
    backlog.put_nowait(1)  # the input never drains
    gate.watch_input(backlog)
    for offset in range(3999):
        gate.record_processed(TP("orders", 0), offset)
    gate.want_commit_if_drained(settings.commit_max_events)
    assert not gate._commit_wanted.is_set()
    gate.record_processed(TP("orders", 0), 3999)
    gate.want_commit_if_drained(settings.commit_max_events)
    assert gate._commit_wanted.is_set()
    assert settings.commit_interval_seconds == 2.0


def test_the_settings_and_the_app_share_one_default_for_a_commit_rounds_events() -> None:
    assert Settings().commit_max_events == DEFAULT_COMMIT_MAX_EVENTS == ShopApp.commit_max_events
