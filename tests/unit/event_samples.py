"""One decoded event of every type, from the load generator run through the saga in memory."""

from collections import defaultdict, deque
from datetime import UTC, datetime
from functools import cache
from typing import Any
from uuid import UUID

from ecommerce_streams.harness.load import LoadProfile, generate
from models.envelope import Envelope, decode_event
from models.events import StockAdjusted
from models.stages import STAGES
from models.topics import TopicRole


@cache
def events_by_type() -> dict[str, list[Envelope]]:
    """Every event a small load and the saga it drives produce, grouped by event type."""
    profile = LoadProfile(orders=40, seed=11, malformed_ratio=0.0, duplicate_ratio=0.0)
    pending: deque[Envelope] = deque(
        decode_event(m.value) for m in generate(profile) if m.kind == "event" and m.value
    )
    pending.append(  # the one source event the load never sends
        Envelope.of(
            StockAdjusted(sku="FR-MUG-RED", delta=3, reason="three found in the stock-take"),
            event_id=UUID("00000000-0000-4000-8000-00000000a0d1"),
            source="warehouse",
            occurred_at=datetime(2026, 3, 1, 12, tzinfo=UTC),
        )
    )
    tables: dict[str, dict[Any, Any]] = defaultdict(dict)
    found: dict[str, list[Envelope]] = defaultdict(list)
    while pending:
        event = pending.popleft()
        found[event.event_type].append(event)
        role = TopicRole(event.data.topic)
        for stage in STAGES:
            if role in stage.reads:
                stage_tables = {name: tables[f"{stage.name}.{name}"] for name in stage.tables}
                pending.extend(stage.apply(stage_tables, event))
    return dict(found)
