"""Latency of inputs through one hop and through the whole saga, from records linked by id.

Records are linked by :mod:`bench.causation`. Three latencies, all from record
timestamps (set by each producer at send time) on one clock:

- **one hop**, per distinct valid source event: when a read_committed consumer first
  received a derived record *caused by it* (``causation_id`` = its event id) - its
  record timestamp. One agent, one transaction commit. Source events that cause
  nothing by themselves (stock deliveries, a payment that waits for stock, a
  cancellation of an already ended order) have no one-hop latency and are counted.
- **full saga record**, per decided order: terminal event's record timestamp - record
  timestamp of the *last input the order needed* (below). Excludes the wait for the
  terminal event's transaction to commit.
- **full saga visible**: when a read_committed consumer received the terminal event -
  that same input's timestamp. Includes every commit on the way: what a downstream
  service experiences.

The inputs an order needs are those its decision was taken on: its ``OrderPlaced``,
and, for a confirmation, its first ``PaymentAuthorized``; for a cancellation, its
``OrderCancellationRequested``; for a rejection over payment, the ``PaymentDeclined``
or mismatching ``PaymentAuthorized`` (a rejection for stock needs no payment). The
input the terminal event's causation chain leads back to is always one of them, yet
not always the last one sent: a payment that arrives while stock is being reserved is
applied first, and the confirmation is then caused by the stock result, whose chain
leads back to the *earlier* ``OrderPlaced``. Timing from the chain's end would count
the time the order waited for its payment as processing latency.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bench.causation import Event, Links, link
from bench.tailing import TERMINAL_EVENTS, Arrival

NEEDED_INPUTS: dict[str, tuple[str, ...]] = {
    "OrderConfirmed": ("OrderPlaced", "PaymentAuthorized"),
    "OrderCancelled": ("OrderPlaced", "OrderCancellationRequested"),
    "OrderRejected": ("OrderPlaced",),
}
"""Source event types every terminal event of that type was decided on."""
NEEDED_FOR_REJECTION: dict[str, tuple[str, ...]] = {
    "payment_declined": ("PaymentDeclined",),
    "payment_mismatch": ("PaymentAuthorized",),
}
"""The further input a rejection for that reason was decided on."""


@dataclass(frozen=True)
class Latencies:
    """Seconds per decided order (full saga) and per source event (one hop)."""

    record: list[float]
    visible: list[float]
    untraced: int
    one_hop: list[float] = field(default_factory=list)
    without_output: int = 0
    """Distinct valid source events that caused no derived record."""
    one_hop_sent: list[float] = field(default_factory=list)
    """The first part of each one hop: the input's send until the worker sent that record."""
    one_hop_committed: list[float] = field(default_factory=list)
    """The rest: that record's send until it was seen committed (the commit, the tail's fetch)."""
    one_hop_at: list[float] = field(default_factory=list)
    """When each timed input was sent (its record timestamp, seconds)."""

    def summary(self) -> dict[str, float | int | None]:
        """p50/p95/p99/max of every latency in milliseconds, and the sample counts."""
        out: dict[str, float | int | None] = {"samples": len(self.record)}
        kinds = (
            ("record", self.record),
            ("visible", self.visible),
            ("one_hop", self.one_hop),
            ("one_hop_sent", self.one_hop_sent),
            ("one_hop_committed", self.one_hop_committed),
        )
        for name, values in kinds:
            ordered = sorted(values)
            for q in (50, 95, 99):
                out[f"{name}_p{q}_ms"] = _ms(percentile(ordered, q))
            out[f"{name}_max_ms"] = _ms(ordered[-1] if ordered else None)
        out["untraced"] = self.untraced
        out["one_hop_samples"] = len(self.one_hop)
        out["one_hop_without_output"] = self.without_output
        return out

    def slowest_one_hops(self, share: float = 0.01, least: int = 5) -> list[dict[str, float]]:
        """The slowest ``share`` of one hops (at least ``least``), in the order they were sent.

        Each gives when its input was sent, in seconds after the first timed input, and
        its milliseconds in all, to sent and then to seen: whether a p99 comes from one
        stall (a few adjacent seconds) or from hops spread over the phase.
        """
        if not self.one_hop:
            return []
        count = max(least, math.ceil(share * len(self.one_hop)))
        first = min(self.one_hop_at)
        hops = zip(
            self.one_hop_at, self.one_hop, self.one_hop_sent, self.one_hop_committed, strict=True
        )
        slowest = sorted(hops, key=lambda hop: hop[1], reverse=True)[:count]
        return [
            {
                "at_s": round(at - first, 2),
                "ms": round(total * 1000, 1),
                "sent_ms": round(sent * 1000, 1),
                "seen_ms": round(seen * 1000, 1),
            }
            for at, total, sent, seen in sorted(slowest)
        ]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of already sorted values (None when empty)."""
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def trace(arrivals: Iterable[Arrival], sources: set[str], decisions_topic: str) -> Latencies:
    """Link ``arrivals`` once; time every decided order's saga and every input's first hop."""
    links = link(arrivals, sources)
    record, visible, untraced = full_saga(links, decisions_topic)
    hops = first_hops(links)
    return Latencies(
        record,
        visible,
        untraced,
        one_hop=[output.received_at - source.timestamp for source, output in hops],
        without_output=len(links.inputs) - len(hops),
        one_hop_sent=[output.timestamp - source.timestamp for source, output in hops],
        one_hop_committed=[output.received_at - output.timestamp for _, output in hops],
        one_hop_at=[source.timestamp for source, _ in hops],
    )


def full_saga(links: Links, decisions_topic: str) -> tuple[list[float], list[float], int]:
    """Record and visible seconds from each order's last needed input to its terminal event.

    A terminal event whose causation chain does not reach a source event seen by the
    tail is counted as untraced, never guessed.
    """
    terminals: dict[str, Event] = {}
    for event in links.derived:
        if event.topic == decisions_topic and event.event_type in TERMINAL_EVENTS:
            terminals.setdefault(event.event_id, event)  # a re-send keeps the first arrival
    record: list[float] = []
    visible: list[float] = []
    untraced = 0
    for terminal in terminals.values():
        start = last_needed_input(links, terminal)
        if start is None:
            untraced += 1
            continue
        record.append(terminal.timestamp - start)
        visible.append(terminal.received_at - start)
    return record, visible, untraced


def last_needed_input(links: Links, terminal: Event) -> float | None:
    """Record timestamp of the last input ``terminal`` was decided on; None if untraced."""
    trigger = links.source_of(terminal.causation_id)
    if trigger is None:
        return None
    needed = NEEDED_INPUTS.get(terminal.event_type or "", ())
    if terminal.event_type == "OrderRejected":
        needed += NEEDED_FOR_REJECTION.get(terminal.reason or "", ())
    inputs = links.inputs_of.get(terminal.correlation_id or "", [])
    starts = [trigger.timestamp]
    for event_type in needed:
        sent = [
            e.timestamp
            for e in inputs
            if e.event_type == event_type and e.timestamp <= terminal.timestamp
        ]
        if sent:
            starts.append(min(sent))  # the saga keeps the first payment; a later one is refunded
    return max(starts)


def first_hops(links: Links) -> list[tuple[Event, Event]]:
    """Each source event with the first derived record it caused to be seen committed.

    Source events that caused no derived record are left out.
    """
    first_output: dict[str, Event] = {}
    for event in links.derived:
        if event.causation_id is None:
            continue
        seen = first_output.get(event.causation_id)
        if seen is None or event.received_at < seen.received_at:
            first_output[event.causation_id] = event
    return [
        (source, first_output[source.event_id])
        for source in links.inputs
        if source.event_id in first_output
    ]
