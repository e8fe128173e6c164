"""Workers on cores of their own: the latency a worker sees without the broker beside it.

On a machine shared by the broker, the workers and the bench, a worker's event loop
waits for a core whenever the others run (``core_shares`` in a latency phase). Pinning
each worker's threads to a core nobody else may use, and the broker's and this
process's threads to the rest, shows what a production layout (workers and brokers on
different machines) would measure. Threads made later inherit the core of the thread
that made them.
"""

import os
from collections.abc import Iterable

ALL_CORES = tuple(sorted(os.sched_getaffinity(0)))
"""The cores this process could use when it started, before any pinning."""


class NotEnoughCores(RuntimeError):
    """Fewer cores than the workers, plus one for the broker and the bench."""


def pin_process(pid: int, cores: Iterable[int]) -> None:
    """Let every thread of ``pid`` run only on ``cores``."""
    allowed = set(cores)
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), allowed)
        except ProcessLookupError:  # the thread ended meanwhile
            continue


def give_workers_own_cores(workers: list[int], broker: int | None) -> dict[str, list[int]]:
    """Pin each worker to a core of its own, the broker and this process to the rest."""
    cores = list(ALL_CORES)
    if len(cores) < len(workers) + 1:
        raise NotEnoughCores(
            f"{len(workers)} worker(s) on cores of their own need {len(workers) + 1} cores "
            f"(one left for the broker and the bench); this process may use {len(cores)}"
        )
    rest = cores[: len(cores) - len(workers)]
    own = cores[len(cores) - len(workers) :]
    for pid, core in zip(workers, own, strict=True):
        pin_process(pid, [core])
    if broker is not None:
        pin_process(broker, rest)
    pin_process(os.getpid(), rest)
    return {"workers": own, "broker_and_bench": rest}


def release_cores(broker: int | None) -> None:
    """Let the broker and this process use every core again (the workers have stopped)."""
    if broker is not None:
        pin_process(broker, ALL_CORES)
    pin_process(os.getpid(), ALL_CORES)
