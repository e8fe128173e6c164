"""What a process uses, read from ``/proc``: resident memory and CPU time.

CPU time per event is the steadier figure on a shared machine: wall-clock rates fall
when other processes take the cores, CPU seconds per event much less so.
"""

import os
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


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds the process (all its threads) has used so far."""
    if pid is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


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
