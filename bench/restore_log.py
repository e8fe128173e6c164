"""How long a worker spent reading its changelogs, from the times Faust logs.

Faust's recovery logs ``Restoring state from changelog topics...`` when it starts reading
and ``Restore complete!`` when the tables are caught up; a worker that rebalances while
restoring logs several such pairs. The span from the first start to the last completion
excludes the process start and the group join that a time-to-``/ready`` includes.
"""

from datetime import datetime
from pathlib import Path

START = "Restoring state from changelog topics"
DONE = "Restore complete!"
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S,%f"


def _logged_at(line: str) -> datetime | None:
    if not line.startswith("[") or "]" not in line:
        return None
    try:
        return datetime.strptime(line[1 : line.index("]")], _TIME_FORMAT)
    except ValueError:
        return None


def restore_span(log: Path, offset: int = 0) -> float | None:
    """Seconds from the first restore start to the last completion after ``offset`` bytes."""
    with log.open("rb") as handle:
        handle.seek(offset)
        text = handle.read().decode(errors="replace")
    started = done = None
    for line in text.splitlines():
        if START in line and started is None:
            started = _logged_at(line)
        elif DONE in line:
            done = _logged_at(line) or done
    if started is None or done is None or done < started:
        return None
    return (done - started).total_seconds()
