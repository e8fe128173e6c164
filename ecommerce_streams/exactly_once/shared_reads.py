"""How far each reader of a shared topic has applied it, committed with the partition's offset.

Two agents read order-events (notifications and analytics). A partition's offset may
only move past an event once both applied it (gap 10), so a commit can hold the effects
of the faster reader's events *beyond* the committed offset. After a crash those events
are fetched again, and without more the faster reader would apply them twice. Checking
each event id against the ``seen`` table prevents that, at the cost of a table write and
a changelog record per event and reader.

Here the commit itself says what was applied: the offset commit of such a partition
carries, as its metadata, the position of every reader that is ahead of the offset
(``{"applied": {"analytics": 1234}}``). It commits in the same transaction as the
effects, so it is exactly as durable as they are, and a worker that takes the partition
over reads it back and skips, per reader, the events below that reader's position. It
costs no record at all; the metadata is only written when readers are apart.
"""

import json
from collections.abc import Iterable, Mapping

from faust.types import TP

#: The key of the readers' positions in an offset commit's metadata.
METADATA_KEY = "applied"


class SharedReads:
    """Per partition of a shared topic: each reader's position, and what commits say of it."""

    def __init__(self) -> None:
        #: The offset of the first event read since the partition was assigned.
        self._start: dict[TP, int] = {}
        #: Per partition and reader, the offset after the last event it applied.
        self._applied: dict[TP, dict[str, int]] = {}
        #: Per partition, the metadata of its last offset commit (``""`` when none).
        self._committed_note: dict[TP, str] = {}

    def already_applied(self, reader: str, tp: TP, offset: int) -> bool:
        """Whether a committed transaction already holds this reader's effects of the event."""
        return offset < self._applied.get(tp, {}).get(reader, -1)

    def record(self, reader: str, tp: TP, offset: int) -> None:
        """Remember that ``reader`` applied (or skipped as applied) the event at ``offset``."""
        self._start.setdefault(tp, offset)
        positions = self._applied.setdefault(tp, {})
        positions[reader] = max(positions.get(reader, 0), offset + 1)

    def note(self, tp: TP, offset: int) -> str:
        """The metadata to commit with ``offset``: the readers ahead of it, if any."""
        ahead = {
            reader: position
            for reader, position in sorted(self._applied.get(tp, {}).items())
            if position > offset
        }
        return json.dumps({METADATA_KEY: ahead}, separators=(",", ":")) if ahead else ""

    def unnoted(self, committed: Mapping[TP, int | None]) -> dict[TP, int]:
        """Partitions whose readers moved while their offset did not, with the offset to commit.

        The offset is the committed one, or where reading began when nothing was committed
        in this assignment yet.
        """
        offsets = {}
        for tp in self._applied:
            offset = committed.get(tp)
            if offset is None:
                offset = self._start.get(tp)
            if offset is not None and self.note(tp, offset) != self._committed_note.get(tp, ""):
                offsets[tp] = offset
        return offsets

    def committed(self, offsets: Mapping[TP, int]) -> None:
        """Remember the notes just committed with these offsets."""
        for tp, offset in offsets.items():
            if tp in self._applied:
                self._committed_note[tp] = self.note(tp, offset)

    def restore(self, tp: TP, metadata: str) -> None:
        """Take the readers' positions from a partition's committed offset metadata."""
        self.forget([tp])
        positions = parse_note(metadata)
        if positions:
            self._applied[tp] = dict(positions)
            self._committed_note[tp] = metadata

    def forget(self, tps: Iterable[TP]) -> None:
        """Drop partitions this worker no longer owns, or is about to read again."""
        for tp in tps:
            self._start.pop(tp, None)
            self._applied.pop(tp, None)
            self._committed_note.pop(tp, None)


def parse_note(metadata: str) -> dict[str, int]:
    """The readers' positions in an offset commit's metadata; none when it holds none."""
    if not metadata:
        return {}
    try:
        positions = json.loads(metadata).get(METADATA_KEY, {})
    except (ValueError, AttributeError):
        return {}
    if not isinstance(positions, dict):
        return {}
    return {
        str(reader): position
        for reader, position in positions.items()
        if isinstance(position, int) and not isinstance(position, bool)
    }
