"""How many EventBridge pattern evaluations one core makes per second over our order events.

Our events (built with the real payload models and encoded as on the wire) are put in
EventBridge's shape: ``detail-type`` is the event type, ``source`` names the producing
system, ``detail`` is the payload. A rule set of 10 or 100 patterns, drawn from a few
templates over every operator (exact, prefix, suffix, equals-ignore-case, wildcard,
anything-but, numeric on an array of objects, exists, ``$or``), is evaluated against every
event, first rule by rule, then through an index on ``detail-type`` that rejects most rules
without evaluating them. Both figures count one evaluation per (rule, event) pair.
"""

import random
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson

from models import events as shop
from models.envelope import Envelope, Source, encode_event
from models.routing import EventPattern, compile_event_pattern

SKUS = ("MUG-RED", "MUG-BLUE", "TEE-S", "TEE-M", "CAP-RED", "BAG-01")
CURRENCIES = ("EUR", "USD", "GBP")


def _payload(rng: random.Random, n: int) -> tuple[shop.AnyPayload, Source]:
    """One payload of the realistic mix (placements and payments dominate) and its source."""
    order, customer = f"o-{n}", f"c-{rng.randrange(500)}"
    lines = tuple(
        shop.OrderLine(sku=sku, qty=rng.randint(1, 5), unit_price="9.99")
        for sku in rng.sample(SKUS, rng.randint(1, 4))
    )
    total = str(sum(line.qty for line in lines) * Decimal("9.99"))
    kind = rng.choices(range(8), weights=(30, 20, 5, 15, 5, 10, 10, 5))[0]
    currency = rng.choice(CURRENCIES)
    payloads: list[tuple[shop.AnyPayload, Source]] = [
        (
            shop.OrderPlaced(
                order_id=order,
                customer_id=customer,
                lines=lines,
                currency=currency,
                total=total,
                shipping_address="4 Dock Road, Cobh",
            ),
            "web",
        ),
        (
            shop.PaymentAuthorized(
                order_id=order, payment_id=f"p-{n}", amount=total, currency=currency
            ),
            "payments-gateway",
        ),
        (
            shop.PaymentDeclined(order_id=order, payment_id=f"p-{n}", reason="card expired"),
            "payments-gateway",
        ),
        (
            shop.OrderConfirmed(
                order_id=order, customer_id=customer, total=total, currency=currency
            ),
            "ecommerce-streams",
        ),
        (
            shop.OrderRejected(order_id=order, customer_id=customer, reason="out_of_stock"),
            "ecommerce-streams",
        ),
        (
            shop.ShipmentRequested(
                order_id=order, customer_id=customer, lines=lines, address="4 Dock Road, Cobh"
            ),
            "ecommerce-streams",
        ),
        (shop.StockReceived(sku=rng.choice(SKUS), qty=rng.randint(1, 50)), "warehouse"),
        (
            shop.OrderCancelled(order_id=order, customer_id=customer, reason="changed my mind"),
            "ecommerce-streams",
        ),
    ]
    return payloads[kind]


def order_events(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` order events, encoded as on the wire, decoded, in EventBridge's shape."""
    rng = random.Random(seed)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    events = []
    for n in range(count):
        payload, source = _payload(rng, n)
        envelope = Envelope.of(
            payload,
            event_id=UUID(int=n),
            source=source,
            occurred_at=start + timedelta(seconds=n),
        )
        wire = orjson.loads(encode_event(envelope))
        events.append(
            {
                "version": "0",
                "id": wire["event_id"],
                "detail-type": wire["event_type"],
                "source": f"shop.{wire['source']}",
                "account": "123456789012",
                "time": wire["occurred_at"],
                "region": "eu-west-1",
                "resources": [
                    f"arn:aws:shop:eu-west-1:123456789012:order/{wire['correlation_id']}"
                ],
                "detail": wire["data"],
            }
        )
    return events


def rule_documents(count: int) -> list[dict[str, Any]]:
    """``count`` distinct patterns cycling over templates that use every operator."""
    rules: list[dict[str, Any]] = []
    for n in range(count):
        sku, currency, customer = SKUS[n % len(SKUS)], CURRENCIES[n % 3], f"c-{n % 50}"
        templates: list[dict[str, Any]] = [
            {
                "source": ["shop.web"],
                "detail-type": ["OrderPlaced"],
                "detail": {"currency": [currency], "lines": {"sku": [sku]}},
            },
            {
                "detail-type": ["OrderPlaced"],
                "detail": {"lines": {"qty": [{"numeric": [">=", 1 + n % 5]}]}},
            },
            {"detail-type": ["PaymentDeclined"], "detail": {"reason": [{"prefix": "card"}]}},
            {
                "source": [{"prefix": "shop."}],
                "detail-type": ["OrderConfirmed"],
                "detail": {"customer_id": [{"wildcard": f"{customer}*"}]},
            },
            {
                "detail-type": ["OrderRejected", "OrderCancelled"],
                "detail": {"reason": [{"equals-ignore-case": "OUT_OF_STOCK"}]},
            },
            {
                "detail-type": ["ShipmentRequested"],
                "$or": [
                    {"detail": {"lines": {"sku": [{"suffix": sku[-4:]}]}}},
                    {"detail": {"customer_id": [customer]}},
                ],
            },
            {
                "detail-type": ["StockReceived"],
                "detail": {"sku": [sku], "qty": [{"numeric": [">", 10, "<=", 40]}]},
            },
            {
                "detail-type": ["PaymentAuthorized"],
                "detail": {
                    "currency": [{"anything-but": [currency]}],
                    "payment_id": [{"exists": True}],
                },
            },
        ]
        rules.append(templates[n % len(templates)])
    return rules


class DetailTypeIndex:
    """Rules bucketed by the ``detail-type`` values they require; the rest always evaluated."""

    def __init__(self, patterns: Iterable[EventPattern]) -> None:
        self.by_detail_type: dict[str, list[EventPattern]] = {}
        self.unindexed: list[EventPattern] = []
        for pattern in patterns:
            values = pattern.source.get("detail-type")
            if isinstance(values, list) and values and all(isinstance(v, str) for v in values):
                for value in values:
                    self.by_detail_type.setdefault(value, []).append(pattern)
            else:
                self.unindexed.append(pattern)

    def matching(self, event: Mapping[str, Any]) -> list[EventPattern]:
        """The rules matching ``event``; rules for other detail-types are never evaluated."""
        detail_type = event.get("detail-type")
        candidates = (
            self.by_detail_type.get(detail_type, []) if isinstance(detail_type, str) else []
        )
        return [p for p in (*candidates, *self.unindexed) if p.matches(event)]


@dataclass(frozen=True)
class RoutingResult:
    """One rule-set size: evaluations per second without and with the index."""

    rules: int
    events: int
    matches: int
    evaluations_per_second: float
    indexed_evaluations_per_second: float


def _best_seconds(run: Any, repeat: int) -> float:
    """The fastest of ``repeat`` timed runs of ``run()``."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def measure_routing(
    rule_counts: Iterable[int], events: int, repeat: int = 3
) -> list[RoutingResult]:
    """Time every rule against every event, directly and through the index."""
    sample = order_events(events)
    results = []
    for count in rule_counts:
        patterns = [compile_event_pattern(document) for document in rule_documents(count)]
        index = DetailTypeIndex(patterns)
        matches = sum(p.matches(event) for event in sample for p in patterns)
        indexed = sum(len(index.matching(event)) for event in sample)
        if indexed != matches:
            raise AssertionError(f"the index found {indexed} matches, the rules {matches}")

        def direct(patterns: list[EventPattern] = patterns) -> None:
            for event in sample:
                for pattern in patterns:
                    pattern.matches(event)

        def through_index(index: DetailTypeIndex = index) -> None:
            for event in sample:
                index.matching(event)

        evaluations = count * len(sample)
        results.append(
            RoutingResult(
                rules=count,
                events=len(sample),
                matches=matches,
                evaluations_per_second=evaluations / _best_seconds(direct, repeat),
                indexed_evaluations_per_second=evaluations / _best_seconds(through_index, repeat),
            )
        )
    return results


def render_routing(results: Iterable[RoutingResult]) -> str:
    """The results as a markdown table."""
    lines = [
        "| rules | events | matches | evaluations/s (each rule) | evaluations/s (indexed) |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r.rules} | {r.events:,} | {r.matches:,} | {r.evaluations_per_second:,.0f} "
        f"| {r.indexed_evaluations_per_second:,.0f} |"
        for r in results
    ]
    return "\n".join(lines) + "\n"
