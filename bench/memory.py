"""Resident memory of a process, read from ``/proc/<pid>/status``."""

from pathlib import Path


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
