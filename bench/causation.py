"""Link the records a benchmark saw by their ids: which input caused which derived record.

A derived event names the event it was derived from in ``causation_id`` and carries its
order's id (or sku) as ``correlation_id``; a source event's correlation id is its own
key. Source records are validated as the agents validate them (``decode_event``), so a
malformed message is never taken for an input; derived records, which the platform
wrote itself, are only parsed. A duplicate (same event id sent again) keeps its first,
earliest send.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from bench.tailing import Arrival
from models.envelope import InvalidEvent, decode_event

MAX_CHAIN = 8
"""Hops followed back from a derived event before giving up (the saga needs three)."""


@dataclass(frozen=True)
class Event:
    """One decoded record: its ids and type, its topic, when it was sent and first seen."""

    event_id: str
    event_type: str | None
    correlation_id: str | None
    causation_id: str | None
    topic: str
    from_source: bool
    timestamp: float
    received_at: float
    reason: str | None = None
    """``data.reason`` of a derived event that has one (why an order was rejected)."""


@dataclass
class Links:
    """Every event of a run by id, and the derived events in the order they were received."""

    first: dict[str, Event] = field(default_factory=dict)
    """Each event id's first send (a duplicate or a re-send keeps it)."""
    derived: list[Event] = field(default_factory=list)
    """Every derived record received, re-sends included."""
    inputs: list[Event] = field(default_factory=list)
    """Every distinct valid source event, in the order received."""
    inputs_of: dict[str, list[Event]] = field(default_factory=dict)
    """Distinct valid source events by correlation id (an order's own inputs)."""

    def source_of(self, event_id: str | None) -> Event | None:
        """Follow causation ids from ``event_id`` back to a source event (None if not seen)."""
        for _ in range(MAX_CHAIN):
            if event_id is None or event_id not in self.first:
                return None
            step = self.first[event_id]
            if step.from_source:
                return step
            event_id = step.causation_id
        return None


def link(arrivals: Iterable[Arrival], sources: set[str]) -> Links:
    """Decode every arrival once and index it; ``sources`` are the input topics."""
    links = Links()
    for arrival in arrivals:
        event = _decode(arrival, arrival.topic in sources)
        if event is None:
            continue  # malformed input or not an event: never a cause
        if event.event_id not in links.first:
            links.first[event.event_id] = event
            if event.from_source:
                links.inputs.append(event)
                if event.correlation_id is not None:
                    links.inputs_of.setdefault(event.correlation_id, []).append(event)
        if not event.from_source:
            links.derived.append(event)
    return links


def _decode(arrival: Arrival, from_source: bool) -> Event | None:
    """The arrival as an :class:`Event`, or None when it is not a valid event."""
    if arrival.value is None:
        return None
    if from_source:
        try:
            envelope = decode_event(arrival.value)
        except InvalidEvent:
            return None
        return Event(
            event_id=str(envelope.event_id),
            event_type=envelope.event_type,
            correlation_id=envelope.correlation_id,
            causation_id=None if envelope.causation_id is None else str(envelope.causation_id),
            topic=arrival.topic,
            from_source=True,
            timestamp=arrival.timestamp,
            received_at=arrival.received_at,
        )
    try:
        document = orjson.loads(arrival.value)
        event_id = document["event_id"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    data = document.get("data")
    return Event(
        event_id=event_id,
        event_type=document.get("event_type"),
        correlation_id=document.get("correlation_id"),
        causation_id=document.get("causation_id"),
        topic=arrival.topic,
        from_source=False,
        timestamp=arrival.timestamp,
        received_at=arrival.received_at,
        reason=data.get("reason") if isinstance(data, dict) else None,
    )
