"""Any arrival order of one order's events ends in one outcome with all of its stock settled."""

from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.envelope import Envelope
from models.events import (
    CommitStock,
    OrderCancellationRequested,
    OrderCancelled,
    OrderConfirmed,
    OrderLine,
    OrderPlaced,
    OrderRejected,
    Payload,
    PaymentAuthorized,
    PaymentDeclined,
    RefundRequested,
    ReleaseStock,
    ReserveStock,
    ShipmentRequested,
)
from models.order import OrderState, apply
from models.refusal import Refused
from models.stock import Reservation, StockLevel, apply_command

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OUTCOMES = (OrderConfirmed, OrderRejected, OrderCancelled)


@dataclass(frozen=True)
class Scenario:
    """One order, the stock on the shelf, how the customer pays, and whether they cancel."""

    quantities: dict[str, int]
    on_hand: dict[str, int]
    payment: str  # "matching", "short", "declined"
    extra_payment: bool
    cancels: bool

    @property
    def order(self) -> OrderPlaced:
        """The order: one line per sku at 1.50 a unit."""
        lines = tuple(
            OrderLine(sku=sku, qty=qty, unit_price="1.50") for sku, qty in self.quantities.items()
        )
        return OrderPlaced(
            order_id="o-1",
            customer_id="c-1",
            lines=lines,
            currency="EUR",
            total=sum(line.qty * line.unit_price for line in lines),
            shipping_address="1 Harbour Road, Cork",
        )

    def payments(self) -> list[Payload]:
        """What the payment gateway reports for the order."""
        total = self.order.total
        reports: list[Payload] = {
            "matching": [
                PaymentAuthorized(order_id="o-1", payment_id="p-1", amount=total, currency="EUR")
            ],
            "short": [
                PaymentAuthorized(
                    order_id="o-1", payment_id="p-1", amount=total - Decimal("0.01"), currency="EUR"
                )
            ],
            "declined": [PaymentDeclined(order_id="o-1", payment_id="p-1", reason="card expired")],
        }[self.payment]
        if self.extra_payment:
            reports.append(
                PaymentAuthorized(order_id="o-1", payment_id="p-2", amount=total, currency="EUR")
            )
        return reports

    @property
    def can_confirm(self) -> bool:
        """Whether stock and payment allow the order (a cancellation may still come first)."""
        enough = all(self.on_hand[sku] >= qty for sku, qty in self.quantities.items())
        return enough and self.payment == "matching"


scenarios = st.builds(
    Scenario,
    quantities=st.dictionaries(
        st.sampled_from(["MUG-RED", "TEE-L", "CAP-01"]), st.integers(1, 4), min_size=1
    ),
    on_hand=st.fixed_dictionaries(
        {sku: st.integers(0, 5) for sku in ["MUG-RED", "TEE-L", "CAP-01"]}
    ),
    payment=st.sampled_from(["matching", "short", "declined"]),
    extra_payment=st.booleans(),
    cancels=st.booleans(),
)


@dataclass
class Shop:
    """The order saga and the inventory, joined by partitioned queues delivered in any order."""

    scenario: Scenario
    queues: dict[str, deque[tuple[Envelope, bool]]] = field(default_factory=dict)
    order: OrderState | None = None
    levels: dict[str, StockLevel] = field(default_factory=dict)
    reservations: dict[str, Reservation] = field(default_factory=dict)
    published: list[Envelope] = field(default_factory=list)
    dead_letters: list[tuple[Envelope, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Stock the shelves and queue the customer's and the gateway's events."""
        self.levels = {
            sku: StockLevel(sku=sku, on_hand=n) for sku, n in self.scenario.on_hand.items()
        }
        inputs: dict[str, list[Payload]] = {
            "orders": [self.scenario.order],
            "payments": self.scenario.payments(),
            "cancellations": (
                [OrderCancellationRequested(order_id="o-1", reason="changed my mind")]
                if self.scenario.cancels
                else []
            ),
        }
        for number, (queue, payloads) in enumerate(inputs.items()):
            self.queues[queue] = deque(
                (
                    Envelope.of(
                        p, event_id=UUID(int=number * 10 + i), source="web", occurred_at=AT
                    ),
                    False,
                )
                for i, p in enumerate(payloads)
            )
        self.queues["inventory-results"] = deque()

    def deliver(self, queue: str, *, again: bool) -> None:
        """Deliver the head of a queue; ``again`` delivers it once more later (at-least-once)."""
        event, redelivered = self.queues[queue].popleft()
        if again and not redelivered:
            self.queues[queue].appendleft((event, True))
        if queue.startswith("inventory-commands/"):
            self._inventory(event)
        else:
            try:
                self.order, derived = apply(self.order, event)
            except Refused as refused:
                self.dead_letters.append((event, refused.reason))
                return
            self._publish(derived)

    def _inventory(self, command: Envelope) -> None:
        """Apply a stock command the way the inventory agent does."""
        sku = command.data.sku
        key = f"{sku}/o-1"
        level, reservation, derived = apply_command(
            self.levels[sku], self.reservations.get(key), command
        )
        self.levels[sku] = level
        if reservation is not None:
            self.reservations[key] = reservation
        self._publish(derived)

    def _publish(self, derived: list[Envelope]) -> None:
        """Route derived events: commands per sku, results to the saga, the rest to the record."""
        for event in derived:
            self.published.append(event)
            if isinstance(event.data, ReserveStock | ReleaseStock | CommitStock):
                queue = self.queues.setdefault(f"inventory-commands/{event.data.sku}", deque())
                queue.append((event, False))
            elif event.data.topic == "inventory-results":
                self.queues["inventory-results"].append((event, False))

    def waiting(self) -> list[str]:
        """Queues with something to deliver."""
        return sorted(name for name, queue in self.queues.items() if queue)

    def count(self, kind: type) -> int:
        """How many published events are of a kind."""
        return sum(isinstance(event.data, kind) for event in self.published)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios, st.data())
def test_any_interleaving_reaches_one_outcome_and_settles_every_reservation(
    scenario: Scenario, data: st.DataObject
) -> None:
    shop = Shop(scenario)
    while waiting := shop.waiting():
        queue = data.draw(st.sampled_from(waiting))
        shop.deliver(queue, again=data.draw(st.integers(0, 7)) == 0)

    state = shop.order
    assert state is not None
    assert state.status in ("confirmed", "rejected", "cancelled")
    confirmed = state.status == "confirmed"

    # exactly one outcome, and the one that stock, payment and cancellation allow
    assert sum(shop.count(kind) for kind in OUTCOMES) == 1
    outcome = next(e.data for e in shop.published if isinstance(e.data, OUTCOMES))
    assert type(outcome).__name__.removeprefix("Order").lower() == state.status
    assert shop.count(ShipmentRequested) == confirmed
    if scenario.can_confirm:
        assert state.status == ("confirmed" if confirmed or not scenario.cancels else "cancelled")
    else:
        assert not confirmed

    # the only refusal: a cancellation that came after the order was confirmed
    assert {reason for _, reason in shop.dead_letters} <= {
        "cannot cancel: shipment already requested"
    }
    assert bool(shop.dead_letters) == (confirmed and scenario.cancels)

    # every unit held for the order was either taken for shipping or given back
    for sku, level in shop.levels.items():
        assert level.reserved == 0
        reservation = shop.reservations.get(f"{sku}/o-1")
        assert reservation is None or reservation.status in ("committed", "released", "rejected")
        if confirmed and sku in scenario.quantities:
            assert reservation is not None and reservation.status == "committed"
        taken = scenario.quantities.get(sku, 0) if confirmed else 0
        assert level.on_hand == scenario.on_hand[sku] - taken

    # every payment the order does not keep is refunded exactly once
    refunds = Counter(
        e.data.payment_id for e in shop.published if isinstance(e.data, RefundRequested)
    )
    authorized = [p.payment_id for p in scenario.payments() if isinstance(p, PaymentAuthorized)]
    kept = ["p-1"] if confirmed else []
    assert refunds == Counter(pid for pid in authorized if pid not in kept)

    assert len({event.event_id for event in shop.published}) == len(shop.published)
