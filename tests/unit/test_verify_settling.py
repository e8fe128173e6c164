"""Waiting for the pipeline: verify reads until every order has ended and the outputs are quiet."""

from uuid import UUID

import pytest

from ecommerce_streams.harness.load import LoadSummary
from ecommerce_streams.harness.verify import verifier, verify
from ecommerce_streams.harness.verify.settling import OrderProgress
from ecommerce_streams.topic_names import TopicNames
from models.analytics import measure
from models.envelope import Envelope, derive
from models.events import OrderRejected, Payload, PaymentDeclined
from models.notification import notify
from tests.unit.order_samples import AT, PLACED, ScriptedReader, dead_letter, record

NAMES = TopicNames(prefix="t-")


def _input(data: Payload, n: int) -> Envelope:
    return Envelope.of(data, event_id=UUID(int=n), source="web", occurred_at=AT)


DECLINED = _input(PaymentDeclined(order_id="o-1", payment_id="p-1", reason="card expired"), 2)
REJECTED = derive(
    DECLINED, OrderRejected(order_id="o-1", customer_id="c-1", reason="payment_declined")
)


def test_progress_waits_for_every_placed_order_to_end() -> None:
    progress = OrderProgress()
    progress.placed([record(NAMES.orders, 0, PLACED)])
    assert progress.open_orders() == {"o-1"}
    progress.decided([record(NAMES.order_events, 0, REJECTED)])
    assert progress.open_orders() == set()


def test_progress_does_not_wait_for_a_dead_lettered_placement() -> None:
    progress = OrderProgress()
    progress.placed([record(NAMES.orders, 5, PLACED)])
    placement = record(NAMES.orders, 5, PLACED)
    progress.dead_lettered([dead_letter(NAMES.dead_letters, PLACED, placement, "orders")])
    assert progress.open_orders() == set()


def test_progress_waits_for_expected_orders_even_before_they_are_read() -> None:
    progress = OrderProgress(expected={"o-1", "o-2"})
    progress.decided([record(NAMES.order_events, 0, REJECTED)])
    assert progress.open_orders() == {"o-2"}


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> type[ScriptedReader]:
    """Replace Kafka reading by a script, and poll quickly."""
    return ScriptedReader.instead_of_kafka(verifier, monkeypatch)


async def test_verify_waits_for_the_terminal_event_then_passes(
    scripted: type[ScriptedReader],
) -> None:
    scripted.batches = [
        {NAMES.orders: [record(NAMES.orders, 0, PLACED)]},
        {NAMES.payments: [record(NAMES.payments, 0, DECLINED)]},
        {},
        {NAMES.order_events: [record(NAMES.order_events, 0, REJECTED)]},
        {
            NAMES.notifications: [record(NAMES.notifications, 0, *notify(REJECTED))],
            NAMES.analytics: [record(NAMES.analytics, 0, *measure(REJECTED))],
        },
    ]
    report = await verify("unused:9092", NAMES, timeout=5.0, settle=0.05)
    assert scripted.catch_ups >= 5
    assert report.settled
    assert report.ok, report.render()
    assert report.rejected == {"payment_declined": 1}


async def test_verify_gives_up_at_the_timeout_and_names_the_open_orders(
    scripted: type[ScriptedReader],
) -> None:
    scripted.batches = [{NAMES.orders: [record(NAMES.orders, 0, PLACED)]}]
    expected = LoadSummary(order_ids={"o-1"})
    report = await verify("unused:9092", NAMES, expected=expected, timeout=0.2, settle=0.05)
    assert not report.settled
    assert "order o-1 has no terminal event on order-events" in report.violations
    assert "had not settled" in report.render()
