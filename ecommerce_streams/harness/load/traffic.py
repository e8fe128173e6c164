"""The generated stream: stock deliveries, then orders, payments and cancellations interleaved.

Time is simulated. Orders arrive every ~100 ms of shop time; each order's payment comes
0.1..3 s after it, or (payment first) up to 0.3 s *before* it; cancellations come
0.05..0.4 s after their order and before its payment. Messages are emitted in shop-time
order, so one order's events arrive out of order across topics. Every random choice is
drawn from generators seeded by the profile, one per concern, so the same profile gives
the same bytes, and changing the duplicate or malformed ratio leaves the orders alone.
"""

import heapq
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID, uuid5

from ecommerce_streams.harness.load.catalogue import Catalogue
from ecommerce_streams.harness.load.malformed import SPOILERS, Document, Specimen
from ecommerce_streams.harness.load.profile import LoadProfile
from models.envelope import Envelope, Source, encode_event
from models.events import (
    AnyPayload,
    OrderCancellationRequested,
    OrderLine,
    OrderPlaced,
    Payload,
    PaymentAuthorized,
    PaymentDeclined,
    StockReceived,
)
from models.topics import TopicRole

Kind = Literal["event", "duplicate", "malformed"]

CURRENCY = "EUR"
MEAN_ORDER_GAP_MS = 100
PAYMENT_DELAY_MS = (100, 3_000)
PAYMENT_LEAD_MS = (20, 300)
CANCEL_DELAY_MS = (50, 400)
DUPLICATE_DELAY_MS = (1, 2_000)
MALFORMED_DELAY_MS = (0, 50)

_LOAD_NAMESPACE = UUID("0c9a7f64-3d1e-4f55-a0b8-6e2f7d4c1a93")
_CANCEL_REASONS = ("changed my mind", "found it cheaper elsewhere", "ordered by mistake")
_DECLINE_REASONS = ("insufficient funds", "card expired", "suspected fraud", "3-D Secure failed")


@dataclass(frozen=True)
class _LastOrder:
    """The most recent order, which malformed messages are made from."""

    placed: OrderPlaced
    payment_id: str
    placed_at: int
    paid_at: int


@dataclass(frozen=True)
class Outgoing:
    """One message to produce: topic role, key and value bytes, and why it is sent.

    ``label`` is the event type of an event or duplicate, or the name of the spoiler
    that broke a malformed message.
    """

    topic_role: TopicRole
    key: bytes
    value: bytes | None  # None: a tombstone
    kind: Kind
    event_id: str | None
    label: str = ""


def generate(profile: LoadProfile) -> Iterator[Outgoing]:
    """Yield the profile's whole stream, lazily and deterministically."""
    return _Traffic(profile).messages()


def order_id_of(profile: LoadProfile, number: int) -> str:
    """The id of the profile's ``number``-th order (0-based)."""
    return f"ord-{profile.seed}-{number:07d}"


class _Traffic:
    """Schedules each order's messages in shop time and releases them in time order."""

    def __init__(self, profile: LoadProfile) -> None:
        self.profile = profile
        self.catalogue = Catalogue.of(profile)
        self.orders_rng = random.Random(f"{profile.seed}/orders")
        self.duplicates_rng = random.Random(f"{profile.seed}/duplicates")
        self.malformed_rng = random.Random(f"{profile.seed}/malformed")
        self.namespace = uuid5(_LOAD_NAMESPACE, str(profile.seed))
        self.pending: list[tuple[int, int, Outgoing]] = []
        self.sequence = itertools.count()
        self.malformed_count = itertools.count()
        self.last_order: _LastOrder | None = None

    def messages(self) -> Iterator[Outgoing]:
        """Stock for every sku first, then the orders, releasing messages in time order."""
        stock = self.profile.stock_per_sku()
        for at, product in enumerate(self.catalogue.products):
            self._schedule(at, self._event(StockReceived(sku=product.sku, qty=stock), at))
        placed_at = len(self.catalogue.products) + PAYMENT_LEAD_MS[1]
        for number in range(self.profile.orders):
            placed_at += 1 + int(self.orders_rng.expovariate(1 / MEAN_ORDER_GAP_MS))
            self._plan_order(number, placed_at)
            yield from self._release(before=placed_at - PAYMENT_LEAD_MS[1])
        yield from self._release(before=None)

    def _plan_order(self, number: int, placed_at: int) -> None:
        rng, profile = self.orders_rng, self.profile
        order_id = order_id_of(profile, number)
        customer = self.catalogue.pick_customer(rng)
        lines = tuple(
            OrderLine(sku=product.sku, qty=qty, unit_price=product.unit_price)
            for product, qty in self.catalogue.pick_basket(rng, profile.line_count_weights())
        )
        total = sum((line.qty * line.unit_price for line in lines), start=0)
        placed = OrderPlaced(
            order_id=order_id,
            customer_id=customer.customer_id,
            lines=lines,
            currency=CURRENCY,
            total=total,
            shipping_address=customer.address,
        )
        channel: Source = "web" if rng.random() < 0.7 else "mobile"
        self._schedule(placed_at, self._event(placed, placed_at, source=channel))

        cancelled = rng.random() < profile.cancel_ratio
        payment_first = rng.random() < profile.payment_first_ratio and not cancelled
        declined = rng.random() < profile.decline_ratio
        payment_id = f"pay-{profile.seed}-{number:07d}"
        if cancelled:
            cancel_at = placed_at + rng.randint(*CANCEL_DELAY_MS)
            request = OrderCancellationRequested(
                order_id=order_id, reason=rng.choice(_CANCEL_REASONS)
            )
            self._schedule(cancel_at, self._event(request, cancel_at, source=channel))
            paid_at = cancel_at + rng.randint(*PAYMENT_DELAY_MS)
        elif payment_first:
            paid_at = placed_at - rng.randint(*PAYMENT_LEAD_MS)
        else:
            paid_at = placed_at + rng.randint(*PAYMENT_DELAY_MS)
        payment: Payload
        if declined:
            reason = rng.choice(_DECLINE_REASONS)
            payment = PaymentDeclined(order_id=order_id, payment_id=payment_id, reason=reason)
        else:
            payment = PaymentAuthorized(
                order_id=order_id, payment_id=payment_id, amount=total, currency=CURRENCY
            )
        self._schedule(paid_at, self._event(payment, paid_at))
        self.last_order = _LastOrder(placed, payment_id, placed_at, paid_at)

    def _release(self, *, before: int | None) -> Iterator[Outgoing]:
        """Yield scheduled messages due before ``before`` (all if None), adding mishaps."""
        while self.pending and (before is None or self.pending[0][0] < before):
            at, _, message = heapq.heappop(self.pending)
            yield message
            if message.kind != "event":
                continue
            if self.duplicates_rng.random() < self.profile.duplicate_ratio:
                again = at + self.duplicates_rng.randint(*DUPLICATE_DELAY_MS)
                self._schedule(again, replace(message, kind="duplicate"))
            if self.last_order and self.malformed_rng.random() < self.profile.malformed_ratio:
                self._schedule(at + self.malformed_rng.randint(*MALFORMED_DELAY_MS), self._spoil())

    def _spoil(self) -> Outgoing:
        """Break a copy of the latest order's events in one of the named ways."""
        assert self.last_order is not None
        rng, last = self.malformed_rng, self.last_order
        name = rng.choice(sorted(SPOILERS))
        fresh = uuid5(self.namespace, f"malformed/{next(self.malformed_count)}")
        placed = last.placed
        payment = PaymentAuthorized(
            order_id=placed.order_id,
            payment_id=last.payment_id,
            amount=placed.total,
            currency=placed.currency,
        )
        delivery = StockReceived(sku=rng.choice(placed.lines).sku, qty=rng.randint(1, 50))
        specimen = Specimen(
            order=self._document(placed, fresh, last.placed_at, "web"),
            payment=self._document(payment, fresh, last.paid_at, "payments-gateway"),
            stock=self._document(delivery, fresh, last.placed_at, "warehouse"),
        )
        spoiled = SPOILERS[name](rng, specimen)
        return Outgoing(spoiled.topic_role, spoiled.key, spoiled.value, "malformed", None, name)

    def _document(self, data: AnyPayload, event_id: UUID, at: int, source: Source) -> Document:
        envelope = Envelope.of(data, event_id=event_id, source=source, occurred_at=self._time(at))
        return envelope.model_dump(mode="json")

    def _schedule(self, at: int, message: Outgoing) -> None:
        heapq.heappush(self.pending, (at, next(self.sequence), message))

    def _time(self, at: int) -> datetime:
        return self.profile.start_time + timedelta(milliseconds=at)

    def _event(self, data: AnyPayload, at: int, *, source: Source | None = None) -> Outgoing:
        """The message of one shop event, sent on the topic its payload names."""
        role = data.topic
        event_id = uuid5(self.namespace, f"{data.event_type}/{data.key}")
        envelope = Envelope.of(
            data,
            event_id=event_id,
            source=source or _SOURCES[role],
            occurred_at=self._time(at),
        )
        return Outgoing(
            role, data.key.encode(), encode_event(envelope), "event", str(event_id), data.event_type
        )


_SOURCES: dict[TopicRole, Source] = {
    TopicRole.ORDERS: "web",
    TopicRole.PAYMENTS: "payments-gateway",
    TopicRole.INVENTORY: "warehouse",
}
