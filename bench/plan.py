"""How big a benchmark run is: the default (8-20 min on 2 cores) and ``--quick`` (~4 min)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    """Sizes of one run; every case uses the same ones."""

    orders: int
    latency_seconds: float
    ceiling_passes: int
    commit_intervals: tuple[float, ...]
    commit_sweep_orders: int
    partitions: int = 4
    seed: int = 1
    cases: tuple[tuple[str, int], ...] = (
        ("exactly_once", 1),
        ("exactly_once", 2),
        ("at_least_once", 1),
        ("at_least_once", 2),
    )
    """(processing guarantee, worker processes) of each pipeline case, in run order."""
    env: tuple[tuple[str, str], ...] = ()
    """Extra ``ES_*`` settings for every worker (e.g. to compare tunings)."""
    routing_rules: int | None = None
    """Rules the router evaluates (the shipped examples, then rules that match little);
    0: the router is off (``ES_ROUTING=false``); None: the shipped examples only."""
    warm_up: bool = True
    """An uncounted case warms the bench's own broker up first (``bench/warm_up.py``)."""
    own_cores: bool = False
    """Each worker pinned to a core of its own, the broker and the bench to the rest."""


FULL = Plan(
    orders=3000,
    latency_seconds=15.0,
    ceiling_passes=4,
    commit_intervals=(0.1, 2.0),
    commit_sweep_orders=600,
)
QUICK = Plan(
    orders=300,
    latency_seconds=8.0,
    ceiling_passes=2,
    commit_intervals=(),
    commit_sweep_orders=0,
    cases=(("exactly_once", 1), ("exactly_once", 2), ("at_least_once", 1)),
)
