"""What a process uses, read from ``/proc``: resident memory and CPU time.

CPU time per event is the steadier figure on a shared machine: wall-clock rates fall
when other processes take the cores, CPU seconds per event much less so.
"""

import os
import time
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def rss_mb(pid: int | None) -> float | None:
    """VmRSS of the process in MiB, or None when it is gone (or not on Linux)."""
    if pid is None:
        return None
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


JIT_THREADS = ("C1 CompilerThre", "C2 CompilerThre")
"""The names (truncated to 15 characters by Linux) of a HotSpot JVM's JIT compiler threads."""


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds the process (all its threads) has used so far."""
    if pid is None:
        return None
    try:
        return _stat_cpu_seconds(Path(f"/proc/{pid}/stat"))
    except OSError:
        return None


def _stat_cpu_seconds(stat_path: Path) -> float:
    fields = stat_path.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def threads_cpu_seconds(pid: int | None, names: tuple[str, ...]) -> float | None:
    """CPU seconds of the process's threads whose name starts with one of ``names``."""
    if pid is None:
        return None
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    total = 0.0
    for tid in tids:
        task = Path(f"/proc/{pid}/task/{tid}")
        try:
            if task.joinpath("comm").read_text().strip().startswith(names):
                total += _stat_cpu_seconds(task / "stat")
        except OSError:  # the thread ended meanwhile
            continue
    return total


def total_cpu_seconds(pids: list[int | None]) -> float | None:
    """CPU seconds summed over processes; None if any of them is gone."""
    values = [cpu_seconds(pid) for pid in pids]
    if any(v is None for v in values):
        return None
    return sum(v for v in values if v is not None)


def cpu_ms_per(before: float | None, after: float | None, count: int) -> float | None:
    """CPU milliseconds per item between two readings in seconds (None if one is missing)."""
    if before is None or after is None or not count:
        return None
    return round((after - before) / count * 1000, 2)


def run_queue_wait_seconds(pid: int | None) -> float | None:
    """Seconds the process's main thread has waited runnable for a core (``schedstat``)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/schedstat").read_text().split()
    except OSError:
        return None
    return int(fields[1]) / 1e9


@dataclass(frozen=True)
class UsageReading:
    """CPU used so far by the workers, the broker and this process, at one moment."""

    at: float
    workers: float | None
    workers_waiting: float | None
    broker: float | None
    broker_jit: float | None
    bench: float | None


def read_usage(workers: list[int | None], broker: int | None) -> UsageReading:
    """Read the CPU seconds of ``workers``, ``broker`` and this process, and the workers' waits."""
    waits = [run_queue_wait_seconds(pid) for pid in workers]
    return UsageReading(
        at=time.monotonic(),
        workers=total_cpu_seconds(workers),
        workers_waiting=None if None in waits else sum(w for w in waits if w is not None),
        broker=cpu_seconds(broker),
        broker_jit=threads_cpu_seconds(broker, JIT_THREADS),
        bench=cpu_seconds(os.getpid()),
    )


def core_shares(before: UsageReading, after: UsageReading, workers: int) -> dict[str, float | None]:
    """Each party's CPU between two readings as a share of one core (workers: per worker).

    ``workers_waiting`` is how much of the time a worker's main thread (its event loop)
    was ready to run but waited for a core: what the other processes on the machine cost it.
    ``broker_jit`` is the part of the broker's that its JIT compiler took: a broker still
    warming up.
    """
    wall = after.at - before.at

    def share(start: float | None, end: float | None, per: int = 1) -> float | None:
        if start is None or end is None or wall <= 0:
            return None
        return round((end - start) / wall / per, 3)

    return {
        "workers": share(before.workers, after.workers, workers),
        "workers_waiting": share(before.workers_waiting, after.workers_waiting, workers),
        "broker": share(before.broker, after.broker),
        "broker_jit": share(before.broker_jit, after.broker_jit),
        "bench": share(before.bench, after.bench),
    }
