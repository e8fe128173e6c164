"""What the figures were measured on: CPU, memory, load, versions and the git commit."""

import os
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages, rounded."""
    return [round(value, 2) for value in os.getloadavg()]


def busy(load: list[float], cpus: int | None = None) -> bool:
    """Whether the machine was shared and busy: a 1-minute load above half its CPUs."""
    return load[0] > 0.5 * (cpus or os.cpu_count() or 1)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _package(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{head}{'+dirty' if dirty else ''}"


def machine_info(kafka_version: str) -> dict[str, Any]:
    """Everything that shapes the figures, for the results JSON."""
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "ram_gb": _ram_gb(),
        "platform": platform.platform(),
        "load_average_at_start": load_average(),
        "python": sys.version.split()[0],
        "faust_streaming": _package("faust-streaming"),
        "aiokafka": _package("aiokafka"),
        "rocksdict": _package("rocksdict"),
        "orjson": _package("orjson"),
        "kafka": kafka_version,
        "git_commit": _git_commit(),
    }
