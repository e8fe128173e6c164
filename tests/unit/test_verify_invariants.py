"""The pure verifier over synthetic records: a clean run passes, each kind of breakage is named."""

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from ecommerce_streams.harness.load import LoadProfile, LoadSummary, generate
from ecommerce_streams.harness.verify import Record, VerifyReport, check_invariants
from ecommerce_streams.harness.verify.verifier import OUTPUT_ROLES
from ecommerce_streams.topic_names import TopicNames
from models.dead_letter import DeadLetter
from models.envelope import Envelope, decode_event, derive, encode_event
from models.events import (
    CommitStock,
    OrderCancelled,
    OrderConfirmed,
    OrderLine,
    OrderPlaced,
    Payload,
    PaymentAuthorized,
    ShipmentRequested,
    StockReceived,
)
from models.stages import STAGES, Stage, judge
from models.topics import TopicRole

NAMES = TopicNames()
FAILED_AT = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Shop:
    """The platform in memory: one partition per topic, the real deciders, exactly once."""

    log: dict[str, list[Record]] = field(default_factory=lambda: defaultdict(list))
    tables: dict[str, dict[Any, Any]] = field(
        default_factory=lambda: {name: {} for stage in STAGES for name in stage.tables}
    )
    seen: set[tuple[str, object]] = field(default_factory=set)

    def append(self, topic: str, key: bytes | None, value: bytes) -> None:
        """Write one message at the end of a topic."""
        records = self.log[topic]
        records.append(Record(topic, 0, len(records), key, value))

    def run(self) -> None:
        """Let every stage consume, one message per topic in turn, until nothing is left."""
        read: dict[tuple[str, str], int] = defaultdict(int)
        busy = True
        while busy:
            busy = False
            for stage in STAGES:
                for topic in (NAMES.name(role) for role in stage.reads):
                    position = read[stage.name, topic]
                    if position < len(self.log[topic]):
                        read[stage.name, topic] += 1
                        self._apply(stage, self.log[topic][position])
                        busy = True

    def _apply(self, stage: Stage, record: Record) -> None:
        tables = {name: self.tables[name] for name in stage.tables}
        verdict = judge(
            stage,
            tables,
            record.key,
            record.value,
            applied=lambda event_id: (stage.name, event_id) in self.seen,
        )
        if verdict.set_aside is not None:
            return self._dead_letter(stage.name, record, verdict.set_aside[1])
        if verdict.event is not None and not verdict.duplicate:
            self.seen.add((stage.name, verdict.event.event_id))
        for event in verdict.derived:
            self.append(NAMES.name(event.data.topic), event.data.key.encode(), encode_event(event))
        return None

    def _dead_letter(self, stage: str, record: Record, error: str) -> None:
        letter = DeadLetter.of(
            record.value or b"",
            record.key,
            source_topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error=error,
            stage=stage,
            failed_at=FAILED_AT,
        )
        self.append(NAMES.dead_letters, record.key, letter.to_bytes())

    def check(self, **options: object) -> VerifyReport:
        """Run the verifier over everything the shop wrote."""
        return check_invariants(
            [r for topic in NAMES.sources() for r in self.log[topic]],
            {role: self.log[NAMES.name(role)] for role in OUTPUT_ROLES},
            self.log[NAMES.dead_letters],
            **options,  # type: ignore[arg-type]
        )

    def snapshot(self) -> dict[str, dict[str, int]]:
        """The stock table as the workers would show it."""
        return {
            sku: {"on_hand": level.on_hand, "reserved": level.reserved}
            for sku, level in self.tables["stock"].items()
        }


def shop_after(profile: LoadProfile) -> tuple[Shop, LoadSummary]:
    """A shop that has processed the whole of a profile's load."""
    shop = Shop()
    summary = LoadSummary()
    for message in generate(profile):
        shop.append(NAMES.name(message.topic_role), message.key, message.value)
        summary.add(message)
    shop.run()
    return shop, summary


@pytest.fixture(scope="module")
def processed() -> tuple[Shop, LoadSummary]:
    """A shop after 300 orders of default traffic: duplicates, malformed input and all."""
    return shop_after(LoadProfile(orders=300, seed=11))


@pytest.fixture
def busy_shop(processed: tuple[Shop, LoadSummary]) -> tuple[Shop, LoadSummary]:
    """A copy of the processed shop that one test may damage."""
    shop, summary = processed
    log: dict[str, list[Record]] = defaultdict(list)
    log.update({topic: list(records) for topic, records in shop.log.items()})
    copied = replace(summary, order_ids=set(summary.order_ids))
    return replace(
        shop, log=log, tables={name: dict(table) for name, table in shop.tables.items()}
    ), copied


def first_record(shop: Shop, topic: str, event_type: str) -> Record:
    """The first record of a topic carrying an event of the given type."""
    return next(r for r in shop.log[topic] if decode_event(r.value or b"").event_type == event_type)


def test_a_clean_history_passes(busy_shop: tuple[Shop, LoadSummary]) -> None:
    shop, summary = busy_shop
    report = shop.check(expected=summary, table_snapshot=shop.snapshot())
    assert report.violations == []
    assert report.ok
    assert report.orders == summary.orders == 300
    assert report.confirmed + report.rejected.total() + report.cancelled == 300
    assert report.without_terminal == 0
    assert report.input_duplicates == summary.duplicates
    assert report.malformed_inputs == summary.malformed
    assert report.dead_letters["invalid"] == summary.malformed
    assert report.rejected["out_of_stock"] > 0
    assert report.rejected["payment_declined"] > 0
    assert report.cancelled > 0


def test_a_missing_terminal_event_is_reported(busy_shop: tuple[Shop, LoadSummary]) -> None:
    shop, _ = busy_shop
    confirmed = first_record(shop, NAMES.order_events, "OrderConfirmed")
    shop.log[NAMES.order_events].remove(confirmed)
    order_id = confirmed.key.decode() if confirmed.key else ""
    report = shop.check()
    assert f"order {order_id} has no terminal event on order-events" in report.violations
    assert report.without_terminal == 1
    assert not report.ok


def test_a_second_terminal_event_is_reported(busy_shop: tuple[Shop, LoadSummary]) -> None:
    shop, _ = busy_shop
    confirmed = decode_event(first_record(shop, NAMES.order_events, "OrderConfirmed").value or b"")
    cancelled = confirmed.model_copy(
        update={
            "event_id": derive(confirmed, confirmed.data, seq=9).event_id,
            "event_type": "OrderCancelled",
            "data": OrderCancelled(
                order_id=confirmed.data.order_id,
                customer_id=confirmed.data.customer_id,
                reason="changed my mind",
            ),
        }
    )
    shop.append(NAMES.order_events, confirmed.data.key.encode(), encode_event(cancelled))
    report = shop.check()
    assert any(
        f"order {confirmed.data.order_id} has 2 terminal events" in v for v in report.violations
    )


def test_a_duplicated_derived_event_is_reported(busy_shop: tuple[Shop, LoadSummary]) -> None:
    shop, _ = busy_shop
    shipment = first_record(shop, NAMES.shipments, "ShipmentRequested")
    shop.append(NAMES.shipments, shipment.key, shipment.value or b"")
    event_id = decode_event(shipment.value or b"").event_id
    report = shop.check()
    assert any(f"event {event_id} was derived 2 times" in v for v in report.violations)


def test_an_event_derived_twice_under_two_ids_is_reported(
    busy_shop: tuple[Shop, LoadSummary],
) -> None:
    shop, _ = busy_shop
    original = decode_event(first_record(shop, NAMES.shipments, "ShipmentRequested").value or b"")
    again = original.model_copy(update={"event_id": derive(original, original.data).event_id})
    shop.append(NAMES.shipments, original.data.key.encode(), encode_event(again))
    report = shop.check()
    assert any(
        f"2 ShipmentRequested events for {original.data.order_id} were derived from event "
        f"{original.causation_id}" in v
        for v in report.violations
    )


def test_an_unaccounted_malformed_input_is_reported(busy_shop: tuple[Shop, LoadSummary]) -> None:
    shop, _ = busy_shop
    letter_record = shop.log[NAMES.dead_letters][0]
    letter = DeadLetter.model_validate_json(letter_record.value or b"")
    shop.log[NAMES.dead_letters].remove(letter_record)
    where = f"{letter.source_topic}[{letter.partition}]@{letter.offset}"
    report = shop.check()
    assert any(f"malformed message {where} was not dead-lettered" in v for v in report.violations)


def test_an_input_dead_lettered_twice_is_reported(busy_shop: tuple[Shop, LoadSummary]) -> None:
    shop, _ = busy_shop
    letter_record = shop.log[NAMES.dead_letters][0]
    shop.append(NAMES.dead_letters, letter_record.key, letter_record.value or b"")
    letter = DeadLetter.model_validate_json(letter_record.value or b"")
    where = f"{letter.source_topic}[{letter.partition}]@{letter.offset}"
    expected = f"message {where} was dead-lettered 2 times by stage {letter.stage}"
    assert expected in shop.check().violations


def test_a_sent_order_that_never_arrived_is_reported(busy_shop: tuple[Shop, LoadSummary]) -> None:
    shop, summary = busy_shop
    summary.order_ids.add("ord-lost-1")
    report = shop.check(expected=summary)
    assert any(v.startswith("order ord-lost-1 was sent but") for v in report.violations)


def test_a_stock_table_that_disagrees_with_the_inputs_is_reported(
    busy_shop: tuple[Shop, LoadSummary],
) -> None:
    shop, _ = busy_shop
    snapshot = shop.snapshot()
    snapshot["DE-00001"] = {
        **snapshot["DE-00001"],
        "on_hand": snapshot["DE-00001"]["on_hand"] + 1,
    }
    report = shop.check(table_snapshot=snapshot)
    assert any(v.startswith("sku DE-00001: the stock table has") for v in report.violations)


def _envelope(data: Payload, n: int, *, cause: Envelope | None = None) -> Envelope:
    if cause is not None:
        return derive(cause, data, seq=n)
    return Envelope.of(
        data,
        event_id=derive(_SEED_EVENT, data, seq=n).event_id,
        source="web",
        occurred_at=FAILED_AT,
    )


_SEED_EVENT = Envelope.of(
    StockReceived(sku="seed", qty=1),
    event_id=UUID(int=1),
    source="warehouse",
    occurred_at=FAILED_AT,
)


def _record(topic: str, offset: int, envelope: Envelope) -> Record:
    return Record(topic, 0, offset, envelope.data.key.encode(), encode_event(envelope))


def test_an_oversold_sku_is_reported() -> None:
    received = _envelope(StockReceived(sku="SKU-1", qty=1), 0)
    inputs = [_record(NAMES.inventory, 0, received)]
    order_events, shipments, commands = [], [], []
    for n in (1, 2):
        line = OrderLine(sku="SKU-1", qty=1, unit_price="5.00")
        placed = _envelope(
            OrderPlaced(
                order_id=f"o-{n}",
                customer_id="c-1",
                lines=(line,),
                currency="EUR",
                total="5.00",
                shipping_address="1 Quay Street, Galway",
            ),
            n,
        )
        paid = _envelope(
            PaymentAuthorized(
                order_id=f"o-{n}", payment_id=f"p-{n}", amount="5.00", currency="EUR"
            ),
            10 + n,
        )
        inputs += [_record(NAMES.orders, n - 1, placed), _record(NAMES.payments, n - 1, paid)]
        confirmed = _envelope(
            OrderConfirmed(order_id=f"o-{n}", customer_id="c-1", total="5.00", currency="EUR"),
            0,
            cause=paid,
        )
        shipment = _envelope(
            ShipmentRequested(
                order_id=f"o-{n}", customer_id="c-1", lines=(line,), address="1 Quay Street"
            ),
            1,
            cause=paid,
        )
        commit = _envelope(CommitStock(order_id=f"o-{n}", sku="SKU-1"), 2, cause=paid)
        order_events.append(_record(NAMES.order_events, n - 1, confirmed))
        shipments.append(_record(NAMES.shipments, n - 1, shipment))
        commands.append(_record(NAMES.inventory_commands, n - 1, commit))
    outputs = {
        TopicRole.ORDER_EVENTS: order_events,
        TopicRole.SHIPMENTS: shipments,
        TopicRole.INVENTORY_COMMANDS: commands,
    }
    report = check_invariants(inputs, outputs, [])
    assert "sku SKU-1 is oversold: 2 units committed but only 1 received" in report.violations
    assert report.expected_stock == {"SKU-1": -1}
    assert report.confirmed == 2


def test_a_duplicate_input_is_counted_not_reported() -> None:
    received = _envelope(StockReceived(sku="SKU-1", qty=4), 0)
    inputs = [_record(NAMES.inventory, 0, received), _record(NAMES.inventory, 1, received)]
    report = check_invariants(inputs, {}, [])
    assert report.ok
    assert report.input_duplicates == 1
    assert report.expected_stock == {"SKU-1": 4}


def test_an_undecodable_derived_event_is_reported() -> None:
    broken = Record(NAMES.shipments, 0, 0, b"o-1", b"{not json")
    report = check_invariants([], {TopicRole.SHIPMENTS: [broken]}, [])
    assert any(
        v.startswith("shipments[0]@0 on shipments is not a valid event") for v in report.violations
    )


def test_dead_letters_are_counted_by_category(busy_shop: tuple[Shop, LoadSummary]) -> None:
    shop, summary = busy_shop
    record = first_record(shop, NAMES.orders, "OrderPlaced")
    misrouted = replace(record, key=b"somebody-else", offset=len(shop.log[NAMES.orders]))
    shop.log[NAMES.orders].append(misrouted)
    shop._dead_letter("orders", misrouted, "misrouted")
    report = shop.check()
    assert report.ok
    assert report.dead_letters == {"invalid": summary.malformed, "misrouted": 1}
