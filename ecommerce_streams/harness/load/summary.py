"""What a load run sent: counts by topic and kind, and the orders that must reach an end."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ecommerce_streams.harness.load.traffic import Outgoing


@dataclass
class LoadSummary:
    """Tally of sent messages; ``order_ids`` are the orders a verifier expects to end."""

    by_topic: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)
    by_event_type: Counter[str] = field(default_factory=Counter)
    malformed_by_kind: Counter[str] = field(default_factory=Counter)
    order_ids: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, messages: Iterable[Outgoing]) -> "LoadSummary":
        """Summarise a stream without sending it."""
        summary = cls()
        for message in messages:
            summary.add(message)
        return summary

    def add(self, message: Outgoing) -> None:
        """Count one sent message."""
        self.by_topic[message.topic_role] += 1
        self.by_kind[message.kind] += 1
        if message.kind == "malformed":
            self.malformed_by_kind[message.label] += 1
        elif message.kind == "event":
            self.by_event_type[message.label] += 1
            if message.label == "OrderPlaced":
                self.order_ids.add(message.key.decode())

    def render(self) -> str:
        """A few lines saying what was sent, for the command line."""

        def breakdown(counts: Counter[str]) -> str:
            return ", ".join(f"{name} {count:,}" for name, count in sorted(counts.items()))

        return "\n".join(
            (
                f"sent {self.messages:,} messages for {self.orders:,} orders",
                f"  by topic: {breakdown(self.by_topic)}",
                f"  by kind:  {breakdown(self.by_kind)}",
                f"  events:   {breakdown(self.by_event_type)}",
                f"  malformed: {breakdown(self.malformed_by_kind) or 'none'}",
            )
        )

    def __str__(self) -> str:
        """The rendered summary."""
        return self.render()

    @property
    def messages(self) -> int:
        """Every message sent."""
        return self.by_kind.total()

    @property
    def events(self) -> int:
        """Valid events sent for the first time."""
        return self.by_kind["event"]

    @property
    def duplicates(self) -> int:
        """Re-sends of an already-sent event, same id and bytes."""
        return self.by_kind["duplicate"]

    @property
    def malformed(self) -> int:
        """Messages that no consumer can decode."""
        return self.by_kind["malformed"]

    @property
    def orders(self) -> int:
        """Distinct orders placed."""
        return len(self.order_ids)
