"""Counters read off the workers' Prometheus pages (``GET /metrics``), and their increase.

A worker counts every Kafka transaction it commits (``es_transactions_committed``, one
per transactional producer and commit); reading it before and after a phase gives the
phase's commits without touching the broker. A counter restarts at 0 when its worker
does, so a smaller second reading counts from that restart (a lower bound).
"""

from collections.abc import Sequence

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

TRANSACTIONS_COMMITTED = "es_transactions_committed_total"
COMMIT_ROUND_SECONDS = "es_commit_round_seconds_sum"
COMMIT_ROUNDS = "es_commit_round_seconds_count"
LOOP_LAG = "es_event_loop_lag_seconds"
MARKERS_SEEN = "es_commit_markers_seen_seconds"
GC_PAUSE = "es_gc_pause_seconds"


def sample_total(text: str, sample: str, **labels: str) -> float:
    """Sum of every sample named ``sample`` with these labels (any others) in a Prometheus page."""
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    )


async def metric_pages(urls: Sequence[str]) -> list[str | None]:
    """Each worker's ``/metrics`` page (base URLs given); None where unreadable."""
    pages: list[str | None] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        for url in urls:
            try:
                async with session.get(f"{url}/metrics") as response:
                    pages.append(await response.text() if response.status == 200 else None)
            except (TimeoutError, aiohttp.ClientError):
                pages.append(None)
    return pages


async def read_counter(urls: Sequence[str], sample: str, **labels: str) -> list[float | None]:
    """``sample`` (with these labels) on each worker's ``/metrics`` (base URLs given); None
    where unreadable."""
    return [
        None if page is None else sample_total(page, sample, **labels)
        for page in await metric_pages(urls)
    ]


def increase(before: Sequence[float | None], after: Sequence[float | None]) -> float | None:
    """How much a counter rose over all workers; None if any reading is missing."""
    total = 0.0
    for first, last in zip(before, after, strict=True):
        if first is None or last is None:
            return None
        total += last - first if last >= first else last
    return total


async def read_commit_rounds(urls: Sequence[str]) -> tuple[list[float | None], list[float | None]]:
    """Seconds spent in commit rounds and their number, per worker."""
    return await read_counter(urls, COMMIT_ROUND_SECONDS), await read_counter(urls, COMMIT_ROUNDS)


async def read_histogram(
    urls: Sequence[str], name: str, **labels: str
) -> tuple[list[float | None], list[float | None]]:
    """A histogram's seconds and observations, per worker: ``LOOP_LAG`` (how late the event
    loop woke, and the wake-ups watched), ``MARKERS_SEEN`` (how long commits' markers took
    to show, and the commits confirmed), ``GC_PAUSE`` (with ``generation="2"``: the full
    collections, and how long they stopped the worker)."""
    return (
        await read_counter(urls, f"{name}_sum", **labels),
        await read_counter(urls, f"{name}_count", **labels),
    )


def histogram_mean_ms(
    before: tuple[list[float | None], list[float | None]],
    after: tuple[list[float | None], list[float | None]],
) -> float | None:
    """The mean of a histogram (seconds, count) between two readings, in ms: a commit
    round's, a step's, a late wake-up's; None without observations or readings."""
    seconds = increase(before[0], after[0])
    rounds = increase(before[1], after[1])
    if seconds is None or not rounds:
        return None
    return round(1000 * seconds / rounds, 1)


COMMIT_STEPS = ("units", "changes", "transactions", "stores")
"""The steps of a commit round the workers time (``es_commit_step_seconds``)."""

StepReadings = dict[str, tuple[list[float | None], list[float | None]]]


async def read_commit_steps(urls: Sequence[str]) -> StepReadings:
    """Seconds spent in each commit step and the rounds that took it, per worker."""
    pages = await metric_pages(urls)

    def per_worker(sample: str, step: str) -> list[float | None]:
        return [None if page is None else sample_total(page, sample, step=step) for page in pages]

    return {
        step: (
            per_worker("es_commit_step_seconds_sum", step),
            per_worker("es_commit_step_seconds_count", step),
        )
        for step in COMMIT_STEPS
    }


def mean_commit_steps_ms(before: StepReadings, after: StepReadings) -> dict[str, float | None]:
    """The mean of each commit step between two readings, in ms."""
    return {step: histogram_mean_ms(before[step], after[step]) for step in COMMIT_STEPS}
