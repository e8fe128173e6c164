"""One sample order and the record builders the verifier's unit tests share."""

from datetime import UTC, datetime
from types import ModuleType, TracebackType
from uuid import UUID

import pytest

from ecommerce_streams.harness.verify import Record
from models.dead_letter import DeadLetter
from models.envelope import Envelope, encode_event
from models.events import OrderLine, OrderPlaced

AT = datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC)

PLACED = Envelope.of(
    OrderPlaced(
        order_id="o-1",
        customer_id="c-1",
        lines=(OrderLine(sku="SKU-1", qty=1, unit_price="9.99"),),
        currency="EUR",
        total="9.99",
        shipping_address="4 Dock Road, Cobh",
    ),
    event_id=UUID(int=1),
    source="web",
    occurred_at=AT,
)


def record(topic: str, offset: int, envelope: Envelope) -> Record:
    """An envelope as the record at ``offset`` of partition 0 of a topic."""
    return Record(topic, 0, offset, envelope.data.key.encode(), encode_event(envelope))


def dead_letter(topic: str, envelope: Envelope, source: Record, stage: str) -> Record:
    """The dead letter (first record of ``topic``) that ``stage`` wrote for ``source``."""
    letter = DeadLetter.of(
        encode_event(envelope),
        source.key,
        source_topic=source.topic,
        partition=source.partition,
        offset=source.offset,
        error="set aside by the test",
        stage=stage,
        failed_at=AT,
    )
    return Record(topic, 0, 0, source.key, letter.to_bytes())


class ScriptedReader:
    """Stands in for TopicReader: each catch-up reveals the next batch of records."""

    batches: list[dict[str, list[Record]]] = []
    catch_ups = 0

    @classmethod
    def instead_of_kafka(
        cls, module: ModuleType, monkeypatch: pytest.MonkeyPatch
    ) -> type["ScriptedReader"]:
        """Make ``module`` read this script instead of Kafka, polling quickly."""
        cls.batches = []
        cls.catch_ups = 0
        monkeypatch.setattr(module, "TopicReader", cls)
        monkeypatch.setattr(module, "POLL_INTERVAL", 0.01)
        return cls

    def __init__(self, bootstrap: str, topics: tuple[str, ...]) -> None:
        self.records: dict[str, list[Record]] = {topic: [] for topic in topics}

    async def __aenter__(self) -> "ScriptedReader":
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None

    async def catch_up(self, *, deadline: float | None = None) -> int:
        ScriptedReader.catch_ups += 1
        if not ScriptedReader.batches:
            return 0
        batch = ScriptedReader.batches.pop(0)
        for topic, records in batch.items():
            self.records[topic].extend(records)
        return sum(len(records) for records in batch.values())
