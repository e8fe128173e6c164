"""How a worker's garbage collector runs: start-up's objects frozen, young ones collected later.

Every event allocates thousands of short-lived objects (pydantic models, Faust events,
aiokafka records). Python collects its young generation every 700 allocations and, now
and then, walks the whole heap, including the hundreds of thousands of objects importing
Faust, aiokafka and the models built once. A worker draining a backlog spent 13-15 % of its
CPU there, and one full collection stopped it for up to 0.18 s
(``bench/results/garbage-collection-20261201``). Collecting the young generation less
often, and freezing (``gc.freeze``) what start-up built once the worker is ready, so full
collections skip it, removes most of that.
"""

import gc
import time
from typing import Any

from ecommerce_streams import metrics

_PAUSE_GENERATIONS = ("0", "1", "2")


def collect_young_every(allocations: int) -> None:
    """Collect the young generation after ``allocations`` new objects (Python's default: 700)."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(allocations, middle, old)


def freeze_what_exists() -> int:
    """Collect once, then exempt every object alive now from later collections; how many."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class PauseClock:
    """Times each collection into ``es_gc_pause_seconds`` (a ``gc.callbacks`` entry)."""

    def __init__(self) -> None:
        self._started = 0.0
        self._pauses = [metrics.labelled(metrics.collector_pauses, g) for g in _PAUSE_GENERATIONS]

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self._pauses[info["generation"]].observe(time.perf_counter() - self._started)


def time_pauses() -> PauseClock:
    """Start timing every collection (once per process); the clock."""
    clock = next((c for c in gc.callbacks if isinstance(c, PauseClock)), None)
    if clock is None:
        clock = PauseClock()
        gc.callbacks.append(clock)
    return clock
