"""The broker log file: reading its last lines and marking our own actions in it."""

from collections import deque
from datetime import datetime
from pathlib import Path


def tail_lines(log: Path, lines: int) -> str:
    """Return the last `lines` lines of a log file, or an empty string when it does not exist."""
    if lines <= 0:
        return ""
    try:
        with log.open(encoding="utf-8", errors="replace") as log_file:
            return "".join(deque(log_file, maxlen=lines))
    except FileNotFoundError:
        return ""


def marker_line(event: str) -> str:
    """Return a timestamped line that separates one of our actions from the broker's output."""
    stamp = datetime.now().astimezone().isoformat(timespec="milliseconds")
    return f"--- {stamp} ecommerce_streams: {event}\n"
