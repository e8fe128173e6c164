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


def sample_total(text: str, sample: str) -> float:
    """Sum of every sample named ``sample`` (all label sets) in a Prometheus text page."""
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == sample
    )


async def read_counter(urls: Sequence[str], sample: str) -> list[float | None]:
    """``sample`` on each worker's ``/metrics`` (base URLs given); None where unreadable."""
    values: list[float | None] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        for url in urls:
            try:
                async with session.get(f"{url}/metrics") as response:
                    text = await response.text() if response.status == 200 else None
            except (TimeoutError, aiohttp.ClientError):
                text = None
            values.append(None if text is None else sample_total(text, sample))
    return values


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


def mean_commit_round_ms(
    before: tuple[list[float | None], list[float | None]],
    after: tuple[list[float | None], list[float | None]],
) -> float | None:
    """The mean commit round between two readings, in ms; None without rounds or readings."""
    seconds = increase(before[0], after[0])
    rounds = increase(before[1], after[1])
    if seconds is None or not rounds:
        return None
    return round(1000 * seconds / rounds, 1)
