"""Whether the pipeline has caught up: every order it must decide has a terminal event."""

from collections.abc import Iterable

import orjson

from ecommerce_streams.harness.verify.invariants import TERMINAL_TYPES
from ecommerce_streams.harness.verify.records import Record
from models.dead_letter import DeadLetter
from models.envelope import InvalidEvent, decode_event


class OrderProgress:
    """Follows placed orders, dead-lettered placements and terminal events as they are read."""

    def __init__(self, expected: Iterable[str] | None = None) -> None:
        self.expected = set(expected) if expected is not None else None
        self.placements: dict[str, set[tuple[str, int, int]]] = {}
        self.dead: set[tuple[str, int, int]] = set()
        self.ended: set[str] = set()

    def placed(self, records: Iterable[Record]) -> None:
        """Note the valid OrderPlaced among new records of the orders topic."""
        for record in records:
            if b'"OrderPlaced"' not in (record.value or b""):
                continue
            try:
                envelope = decode_event(record.value or b"")
            except InvalidEvent:
                continue
            if envelope.event_type == "OrderPlaced":
                self.placements.setdefault(envelope.data.key, set()).add(record.position)

    def dead_lettered(self, records: Iterable[Record]) -> None:
        """Note which input messages new dead letters set aside."""
        for record in records:
            try:
                letter = DeadLetter.model_validate_json(record.value or b"")
            except ValueError:
                continue
            self.dead.add((letter.source_topic, letter.partition, letter.offset))

    def decided(self, records: Iterable[Record]) -> None:
        """Note the orders that new records of order-events end."""
        for record in records:
            try:
                document = orjson.loads(record.value or b"")
                if document["event_type"] in TERMINAL_TYPES:
                    self.ended.add(document["data"]["order_id"])
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue

    def open_orders(self) -> set[str]:
        """Orders that should end but have not yet."""
        if self.expected is not None:
            required = set(self.expected)
        else:
            required = {
                order_id for order_id, positions in self.placements.items() if positions - self.dead
            }
        return required - self.ended
