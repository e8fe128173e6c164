"""The five invariants of an exactly-once run, checked over records already read back.

1. Every order placed ends exactly once: one OrderConfirmed, OrderRejected or
   OrderCancelled on order-events.
2. Nothing is derived twice: no event id twice on the outputs, and no two derived
   events of one type for one key with the same cause.
3. Stock is conserved: no sku commits, ships or confirms more units than it received,
   the three agree, and (given a table snapshot) the tables match the inputs.
4. Every input is accounted for: applied, dropped as a duplicate, or dead-lettered;
   every malformed input is dead-lettered, once by each stage that reads it.
5. Every input of every agent has its effect exactly once: each committed order event
   its notifications and analytics records (see ``effects``).
"""

from collections import Counter, defaultdict
from collections.abc import Collection, Mapping, Sequence
from typing import Any
from uuid import UUID

from ecommerce_streams.harness.load.summary import LoadSummary
from ecommerce_streams.harness.verify.effects import check_effects
from ecommerce_streams.harness.verify.history import History
from ecommerce_streams.harness.verify.records import Record
from ecommerce_streams.harness.verify.report import VerifyReport
from models.envelope import Envelope
from models.events import (
    CommitStock,
    OrderPlaced,
    OrderRejected,
    ShipmentRequested,
    StockAdjusted,
    StockReceived,
)
from models.topics import TopicRole

TERMINAL_TYPES = frozenset({"OrderConfirmed", "OrderRejected", "OrderCancelled"})


def check_invariants(
    inputs: Sequence[Record],
    outputs: Mapping[TopicRole, Sequence[Record]],
    dead_letters: Sequence[Record],
    *,
    expected: LoadSummary | None = None,
    table_snapshot: Mapping[str, Mapping[str, Any]] | None = None,
    input_topics: Collection[str] | None = None,
) -> VerifyReport:
    """Check the five invariants; ``outputs`` is keyed by topic role."""
    history = History.of(inputs, outputs, dead_letters)
    topics = set(input_topics) if input_topics is not None else {r.topic for r in inputs}
    report = VerifyReport()
    _count_traffic(history, report)
    orders = _placed_orders(history)
    endings = _terminal_events(history)
    _every_order_ends_once(orders, endings, expected, report)
    _nothing_derived_twice(history, report)
    _stock_is_conserved(history, orders, endings, table_snapshot, report)
    _every_input_accounted_for(history, topics, expected, report)
    check_effects(history, report)
    return report


def _count_traffic(history: History, report: VerifyReport) -> None:
    for item in history.inputs:
        report.inputs[item.record.topic] += 1
    fates = Counter(item.fate for item in history.inputs)
    report.input_duplicates = fates["duplicate"]
    report.malformed_inputs = sum(1 for item in history.inputs if item.envelope is None)
    report.outputs.update(history.output_counts)
    report.dead_letters.update(letter.category for letter in history.letters)
    report.refunds = len(_unique(history.derived(TopicRole.ORDER_EVENTS), "RefundRequested"))


def _placed_orders(history: History) -> dict[str, OrderPlaced]:
    """The first applied OrderPlaced of each order id."""
    orders: dict[str, OrderPlaced] = {}
    for envelope in history.applied():
        if isinstance(envelope.data, OrderPlaced):
            orders.setdefault(envelope.data.order_id, envelope.data)
    return orders


def _terminal_events(history: History) -> dict[str, list[Envelope]]:
    """Distinct terminal events per order id, in the order read."""
    endings: dict[str, list[Envelope]] = defaultdict(list)
    for envelope in _unique(history.derived(TopicRole.ORDER_EVENTS), *TERMINAL_TYPES):
        endings[envelope.data.key].append(envelope)
    return endings


def _unique(events: Sequence[Envelope], *event_types: str) -> list[Envelope]:
    """Events of the given types, each event id once."""
    seen: set[UUID] = set()
    unique = []
    for envelope in events:
        if envelope.event_type in event_types and envelope.event_id not in seen:
            seen.add(envelope.event_id)
            unique.append(envelope)
    return unique


def _every_order_ends_once(
    orders: Mapping[str, OrderPlaced],
    endings: Mapping[str, list[Envelope]],
    expected: LoadSummary | None,
    report: VerifyReport,
) -> None:
    report.orders = len(orders)
    for order_id in orders:
        ends = endings.get(order_id, [])
        if not ends:
            report.without_terminal += 1
            report.violations.append(f"order {order_id} has no terminal event on order-events")
            continue
        first = ends[0]
        if first.event_type == "OrderConfirmed":
            report.confirmed += 1
        elif isinstance(first.data, OrderRejected):
            report.rejected[first.data.reason] += 1
        else:
            report.cancelled += 1
        if len(ends) > 1:
            kinds = ", ".join(end.event_type for end in ends)
            report.violations.append(
                f"order {order_id} has {len(ends)} terminal events ({kinds}); it must have one"
            )
    for order_id in sorted(set(endings) - set(orders)):
        report.warnings.append(
            f"order {order_id} has a terminal event but no applied OrderPlaced was read"
        )
    if expected is not None:
        for order_id in sorted(expected.order_ids - set(orders)):
            report.violations.append(
                f"order {order_id} was sent but no applied OrderPlaced for it was read back"
            )


def _identity(envelope: Envelope) -> tuple[object, ...]:
    """What makes a derived event unique besides its id: cause, type, key (and payment)."""
    return (
        envelope.causation_id,
        envelope.event_type,
        envelope.data.key,
        getattr(envelope.data, "payment_id", None)
        if envelope.event_type == "RefundRequested"
        else None,
    )


def _nothing_derived_twice(history: History, report: VerifyReport) -> None:
    places: dict[UUID, list[Record]] = defaultdict(list)
    by_identity: dict[tuple[object, ...], dict[UUID, Envelope]] = defaultdict(dict)
    for items in history.outputs.values():
        for record, envelope in items:
            places[envelope.event_id].append(record)
            by_identity[_identity(envelope)].setdefault(envelope.event_id, envelope)
            if envelope.causation_id is None:
                report.warnings.append(
                    f"derived event {envelope.event_id} at {record.where} has no cause"
                )
    for event_id, records in places.items():
        if len(records) > 1:
            where = ", ".join(record.where for record in records)
            report.violations.append(f"event {event_id} was derived {len(records)} times: {where}")
    for (cause, event_type, key, _), events in by_identity.items():
        if len(events) > 1 and cause is not None:
            ids = ", ".join(str(event_id) for event_id in events)
            report.violations.append(
                f"{len(events)} {event_type} events for {key} were derived from event "
                f"{cause}: {ids}"
            )
    for role, record, reason in history.undecodable_outputs:
        report.violations.append(f"{record.where} on {role} is not a valid event: {reason}")
    for record, reason in history.unreadable_letters:
        report.violations.append(f"dead letter {record.where} is not a valid DeadLetter: {reason}")


def _stock_is_conserved(
    history: History,
    orders: Mapping[str, OrderPlaced],
    endings: Mapping[str, list[Envelope]],
    table_snapshot: Mapping[str, Mapping[str, Any]] | None,
    report: VerifyReport,
) -> None:
    received: Counter[str] = Counter()
    for envelope in history.applied():
        if isinstance(envelope.data, StockReceived):
            received[envelope.data.sku] += envelope.data.qty
        elif isinstance(envelope.data, StockAdjusted):
            received[envelope.data.sku] += envelope.data.delta
    committed: Counter[str] = Counter()
    for command in _unique(history.derived(TopicRole.INVENTORY_COMMANDS), "CommitStock"):
        commit = command.data
        assert isinstance(commit, CommitStock)  # _unique keeps that event type only
        order = orders.get(commit.order_id)
        line = next((x for x in order.lines if x.sku == commit.sku), None) if order else None
        if line is None:
            report.violations.append(
                f"CommitStock {command.event_id} takes sku {commit.sku} for order "
                f"{commit.order_id}, which has no such line"
            )
            continue
        committed[line.sku] += line.qty
    shipped: Counter[str] = Counter()
    for shipment in _unique(history.derived(TopicRole.SHIPMENTS), "ShipmentRequested"):
        assert isinstance(shipment.data, ShipmentRequested)  # _unique keeps that type only
        for line in shipment.data.lines:
            shipped[line.sku] += line.qty
    confirmed: Counter[str] = Counter()
    for order_id, ends in endings.items():
        if order_id in orders and ends[0].event_type == "OrderConfirmed":
            for line in orders[order_id].lines:
                confirmed[line.sku] += line.qty
    for sku in sorted(set(received) | set(committed) | set(shipped) | set(confirmed)):
        taken = {"committed": committed[sku], "shipped": shipped[sku], "confirmed": confirmed[sku]}
        most = max(taken.values())
        if most > received[sku]:
            what = max(taken, key=lambda name: taken[name])
            report.violations.append(
                f"sku {sku} is oversold: {most} units {what} but only {received[sku]} received"
            )
        if len(set(taken.values())) > 1:
            report.violations.append(
                f"sku {sku}: {taken['committed']} units committed, {taken['shipped']} shipped and "
                f"{taken['confirmed']} in confirmed orders; the three must agree"
            )
        report.expected_stock[sku] = received[sku] - committed[sku]
    report.units_received = received.total()
    report.units_committed = committed.total()
    if table_snapshot is not None:
        _tables_match(report, table_snapshot, all_ended=report.without_terminal == 0)


def _tables_match(
    report: VerifyReport, table_snapshot: Mapping[str, Mapping[str, Any]], *, all_ended: bool
) -> None:
    for sku in sorted(set(report.expected_stock) | set(table_snapshot)):
        level = table_snapshot.get(sku, {})
        on_hand = int(level.get("on_hand", 0))
        if on_hand != report.expected_stock.get(sku, 0):
            report.violations.append(
                f"sku {sku}: the stock table has {on_hand} on hand, the inputs leave "
                f"{report.expected_stock.get(sku, 0)}"
            )
        reserved = int(level.get("reserved", 0))
        if all_ended and reserved:
            report.violations.append(
                f"sku {sku}: {reserved} units still reserved although every order has ended"
            )


def _every_input_accounted_for(
    history: History, input_topics: set[str], expected: LoadSummary | None, report: VerifyReport
) -> None:
    for item in history.inputs:
        if item.fate == "unaccounted":
            report.violations.append(
                f"malformed message {item.record.where} was not dead-lettered ({item.error})"
            )
    for source, letters in history.letters_by_source.items():
        topic, partition, offset = source
        where = f"{topic}[{partition}]@{offset}"
        for stage, times in Counter(letter.letter.stage for letter in letters).items():
            if times > 1:
                report.violations.append(
                    f"message {where} was dead-lettered {times} times by stage {stage}"
                )
        if topic not in input_topics:
            letter = letters[0].letter
            report.warnings.append(
                f"derived message {where} was dead-lettered by stage {letter.stage}: {letter.error}"
            )
    if expected is not None and report.malformed_inputs < expected.malformed:
        report.violations.append(
            f"{expected.malformed} malformed messages were sent but only "
            f"{report.malformed_inputs} were read back from the source topics"
        )
