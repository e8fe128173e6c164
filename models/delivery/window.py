"""Which offset of a partition may be committed while its deliveries finish out of order.

Deliveries of one partition run concurrently (one endpoint may be slow, another fast),
so they finish out of order; an offset may only be committed once every record before
it is finished, or a crash would skip the unfinished ones. Offsets need not be
contiguous (transaction markers and compaction leave gaps).
"""

from dataclasses import dataclass, field


@dataclass
class OffsetWindow:
    """The unfinished records of one partition, and the offset to commit."""

    unfinished: set[int] = field(default_factory=set)
    next_offset: int | None = None
    """The offset after the last record received (None: nothing received yet)."""

    def received(self, offset: int) -> None:
        """A record was received (offsets arrive in increasing order)."""
        self.next_offset = offset + 1
        self.unfinished.add(offset)

    def finished(self, offset: int) -> None:
        """The record at ``offset`` is done (delivered or dead-lettered)."""
        self.unfinished.discard(offset)

    @property
    def committable(self) -> int | None:
        """The offset to commit: the first unfinished record, else the next to receive."""
        if self.unfinished:
            return min(self.unfinished)
        return self.next_offset

    def __len__(self) -> int:
        """Records received and not finished."""
        return len(self.unfinished)
