"""The worker's garbage collector: young collections later, start-up frozen, pauses timed."""

import gc
from collections.abc import Iterator

import pytest

from ecommerce_streams import metrics
from ecommerce_streams.worker.garbage_collection import (
    PauseClock,
    collect_young_every,
    freeze_what_exists,
    time_pauses,
)


@pytest.fixture
def collector() -> Iterator[None]:
    """Python's collector as the test found it, afterwards."""
    threshold, callbacks = gc.get_threshold(), list(gc.callbacks)
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
    gc.callbacks[:] = callbacks


def collections_timed(generation: str) -> float:
    """How many collections of ``generation`` the pause histogram has counted."""
    for family in metrics.collector_pauses.collect():
        for s in family.samples:
            if s.name.endswith("_count") and s.labels == {"generation": generation}:
                return s.value
    return 0.0


def test_the_young_generation_is_collected_after_the_allocations_given(collector: None) -> None:
    _, middle, old = gc.get_threshold()
    collect_young_every(20_000)
    assert gc.get_threshold() == (20_000, middle, old)


def test_what_exists_is_frozen_out_of_later_collections(collector: None) -> None:
    kept = [object() for _ in range(10)]
    frozen = freeze_what_exists()
    assert frozen == gc.get_freeze_count() > len(kept)


def test_every_collection_is_timed_by_its_generation(collector: None) -> None:
    time_pauses()
    before = collections_timed("2"), collections_timed("0")
    gc.collect(2)
    gc.collect(0)
    assert collections_timed("2") == before[0] + 1
    assert collections_timed("0") == before[1] + 1


def test_pauses_are_timed_by_one_clock_however_often_it_is_started(collector: None) -> None:
    first = time_pauses()
    assert time_pauses() is first
    assert sum(isinstance(c, PauseClock) for c in gc.callbacks) == 1
