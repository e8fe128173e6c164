"""Unit tests: the benchmark counts the workers' transaction commits from their /metrics."""

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from bench.worker_metrics import (
    GC_PAUSE,
    TRANSACTIONS_COMMITTED,
    histogram_mean_ms,
    increase,
    read_histogram,
    sample_total,
)
from tests.local_server import served


def _page() -> str:
    """A worker's /metrics text: 42 commits, duplicates dropped under two label sets."""
    registry = CollectorRegistry()
    commits = Counter("es_transactions_committed", "Commits.", registry=registry)
    dropped = Counter("es_duplicates_dropped", "Dropped.", ["topic"], registry=registry)
    commits.inc(42)
    dropped.labels("payments").inc(3)
    dropped.labels("orders").inc(4)
    return generate_latest(registry).decode()


def test_a_counter_is_read_by_its_sample_name_and_summed_over_its_labels() -> None:
    assert sample_total(_page(), TRANSACTIONS_COMMITTED) == 42.0
    assert sample_total(_page(), "es_duplicates_dropped_total") == 7.0
    assert sample_total(_page(), "es_not_there_total") == 0.0


def test_commits_of_a_phase_are_the_rise_summed_over_workers() -> None:
    assert increase([10.0, 20.0], [110.0, 70.0]) == 150.0


def test_a_worker_restarted_during_the_phase_counts_from_its_restart() -> None:
    assert increase([500.0], [30.0]) == 30.0


def test_an_unreadable_worker_makes_the_count_unknown_not_smaller() -> None:
    assert increase([10.0, None], [20.0, 30.0]) is None


def test_the_mean_commit_round_is_the_seconds_over_the_rounds_between_readings() -> None:
    before = ([1.0, 2.0], [10.0, 20.0])
    after = ([1.5, 2.5], [20.0, 30.0])  # 1 s over 20 rounds
    assert histogram_mean_ms(before, after) == 50.0


def test_no_commit_round_between_readings_has_no_mean() -> None:
    assert histogram_mean_ms(([1.0], [4.0]), ([1.0], [4.0])) is None


@pytest.fixture
async def worker_url() -> AsyncIterator[str]:
    """A real local server whose /metrics shows collections: two young, one full of 0.2 s."""
    registry = CollectorRegistry()
    pauses = Histogram(GC_PAUSE, "Collections.", ["generation"], registry=registry)
    pauses.labels("0").observe(0.001)
    pauses.labels("0").observe(0.003)
    pauses.labels("2").observe(0.2)

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    async with served(web.AppRunner(app)) as url:
        yield url


async def test_a_histogram_is_read_for_one_label_value(worker_url: str) -> None:
    full = await read_histogram([worker_url], GC_PAUSE, generation="2")
    every = await read_histogram([worker_url], GC_PAUSE)

    assert full == ([0.2], [1.0])
    assert every[1] == [3.0]
