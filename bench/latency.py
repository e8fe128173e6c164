"""End-to-end latency of inputs, traced from each terminal order event back to its cause.

A terminal event (``OrderConfirmed``, ``OrderRejected``, ``OrderCancelled``) names its
cause in ``causation_id``; the cause may itself be derived (``StockReserved`` from
``ReserveStock`` from ``OrderPlaced``), so the chain is followed until it reaches a
message on a source topic. Two latencies per decided order:

- **record**: terminal record timestamp - input record timestamp. Both are set by
  their producers at send time, so this excludes the wait for the transaction commit.
- **visible**: when a read_committed consumer received the terminal event - input
  record timestamp. This includes the commit interval: it is what a downstream
  service experiences.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import orjson

from bench.tailing import TERMINAL_EVENTS, Arrival

MAX_CHAIN = 8


@dataclass(frozen=True)
class _Known:
    timestamp: float
    causation_id: str | None
    from_source: bool


@dataclass(frozen=True)
class Latencies:
    """Per decided order: seconds from its causing input to its terminal event."""

    record: list[float]
    visible: list[float]
    untraced: int

    def summary(self) -> dict[str, float | int | None]:
        """p50/p95/p99/max of both latencies, in milliseconds."""
        out: dict[str, float | int | None] = {"samples": len(self.record)}
        for name, values in (("record", self.record), ("visible", self.visible)):
            ordered = sorted(values)
            for q in (50, 95, 99):
                out[f"{name}_p{q}_ms"] = _ms(percentile(ordered, q))
            out[f"{name}_max_ms"] = _ms(ordered[-1] if ordered else None)
        out["untraced"] = self.untraced
        return out


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of already sorted values (None when empty)."""
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def trace(arrivals: Iterable[Arrival], sources: set[str], decisions_topic: str) -> Latencies:
    """Follow every terminal event among ``arrivals`` back to a source input."""
    known: dict[str, _Known] = {}
    terminals: list[tuple[dict, Arrival]] = []
    for arrival in arrivals:
        if arrival.value is None:
            continue
        try:
            document = orjson.loads(arrival.value)
            event_id = document["event_id"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            continue  # malformed input: never the cause of a decision
        if event_id not in known:  # a duplicate keeps its first (earliest) send
            known[event_id] = _Known(
                arrival.timestamp, document.get("causation_id"), arrival.topic in sources
            )
        if arrival.topic == decisions_topic and document.get("event_type") in TERMINAL_EVENTS:
            terminals.append((document, arrival))
    record: list[float] = []
    visible: list[float] = []
    untraced = 0
    for document, arrival in terminals:
        cause = _source_of(document.get("causation_id"), known)
        if cause is None:
            untraced += 1
            continue
        record.append(arrival.timestamp - cause.timestamp)
        visible.append(arrival.received_at - cause.timestamp)
    return Latencies(record, visible, untraced)


def _source_of(event_id: str | None, known: dict[str, _Known]) -> _Known | None:
    for _ in range(MAX_CHAIN):
        if event_id is None or event_id not in known:
            return None
        step = known[event_id]
        if step.from_source:
            return step
        event_id = step.causation_id
    return None
