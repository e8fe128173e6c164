"""How long a worker spent restoring its tables, from the lines its restorer logs.

A worker that rebalances while restoring logs several passes; their sum excludes the
process start and the group join that a time-to-``/ready`` includes.
"""

from pathlib import Path

from ecommerce_streams.exactly_once.table_recovery import restore_seconds


def restore_span(log: Path, offset: int = 0) -> float | None:
    """Seconds spent restoring changelogs, from the log after ``offset`` bytes."""
    with log.open("rb") as handle:
        handle.seek(offset)
        return restore_seconds(handle.read().decode(errors="replace"))
