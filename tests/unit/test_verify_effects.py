"""Each order event's notification and analytics records must be read back exactly once."""

from uuid import UUID

from ecommerce_streams.harness.verify import Record, VerifyReport, check_invariants
from ecommerce_streams.topic_names import TopicNames
from models.analytics import measure
from models.envelope import Envelope, derive
from models.events import (
    NotificationRequested,
    OrderConfirmed,
    PaymentAuthorized,
)
from models.notification import notify
from models.topics import TopicRole
from tests.unit.order_samples import AT, PLACED, dead_letter, record

NAMES = TopicNames()

PAID = Envelope.of(
    PaymentAuthorized(order_id="o-1", payment_id="p-1", amount="9.99", currency="EUR"),
    event_id=UUID(int=2),
    source="payments-gateway",
    occurred_at=AT,
)
CONFIRMED = derive(
    PAID, OrderConfirmed(order_id="o-1", customer_id="c-1", total="9.99", currency="EUR")
)


def records(topic: str, *envelopes: Envelope) -> list[Record]:
    """Envelopes as consecutive records of partition 0 of a topic."""
    return [record(topic, offset, envelope) for offset, envelope in enumerate(envelopes)]


def check(
    notifications: list[Envelope],
    analytics: list[Envelope],
    *,
    order_events: tuple[Envelope, ...] = (CONFIRMED,),
    dead_letters: list[Record] | None = None,
) -> VerifyReport:
    """The verdict on one placed and paid order with the given agent outputs."""
    return check_invariants(
        records(NAMES.orders, PLACED) + records(NAMES.payments, PAID),
        {
            TopicRole.ORDER_EVENTS: records(NAMES.order_events, *order_events),
            TopicRole.NOTIFICATIONS: records(NAMES.notifications, *notifications),
            TopicRole.ANALYTICS: records(NAMES.analytics, *analytics),
        },
        dead_letters or [],
    )


def effect_violations(report: VerifyReport) -> list[str]:
    """The violations about agent effects."""
    return [v for v in report.violations if " effect of " in v or " names cause " in v]


def test_an_outcome_with_its_notification_and_analytics_records_once_passes() -> None:
    report = check(notify(CONFIRMED), measure(CONFIRMED))
    assert effect_violations(report) == []
    assert report.effects == {"notifications": 1, "analytics": 2}


def test_missing_analytics_record_for_confirmed_order_is_a_violation() -> None:
    revenue, count = measure(CONFIRMED)
    report = check(notify(CONFIRMED), [revenue])
    assert effect_violations(report) == [
        f"analytics effect of order-events[0]@0 (event {CONFIRMED.event_id}, OrderConfirmed "
        f"o-1) is missing: MetricRecorded orders.confirmed ({count.event_id}) is not on analytics"
    ]


def test_notification_sent_twice_for_one_outcome_is_a_violation() -> None:
    (sent,) = notify(CONFIRMED)
    report = check([sent, sent], measure(CONFIRMED))
    assert (
        f"notifications effect of order-events[0]@0 (event {CONFIRMED.event_id}, OrderConfirmed "
        f"o-1) appears 2 times: NotificationRequested c-1 ({sent.event_id}) at "
        "notifications[0]@0, notifications[0]@1"
    ) in effect_violations(report)


def test_a_missing_notification_is_a_violation_naming_the_input() -> None:
    report = check([], measure(CONFIRMED))
    (violation,) = effect_violations(report)
    assert violation.startswith(
        f"notifications effect of order-events[0]@0 (event {CONFIRMED.event_id}"
    )
    assert "is missing" in violation


def test_a_second_notification_under_another_id_for_one_outcome_is_a_violation() -> None:
    (sent,) = notify(CONFIRMED)
    again = derive(CONFIRMED, sent.data, seq=1)
    report = check([sent, again], measure(CONFIRMED))
    assert effect_violations(report) == [
        f"notifications effect of order-events[0]@0 (event {CONFIRMED.event_id}, OrderConfirmed "
        f"o-1) at notifications[0]@1 is not one it derives: NotificationRequested c-1 "
        f"({again.event_id})"
    ]


def test_a_notification_with_other_content_than_notify_derives_is_a_violation() -> None:
    (sent,) = notify(CONFIRMED)
    altered = sent.model_copy(update={"data": sent.data.model_copy(update={"template": "other"})})
    report = check([altered], measure(CONFIRMED))
    assert any("differs from what notifications derives" in v for v in effect_violations(report))


def test_a_notification_whose_cause_is_not_on_order_events_is_a_violation() -> None:
    stray = derive(
        PAID,
        NotificationRequested(
            customer_id="c-1", order_id="o-1", channel="email", template="order-confirmed"
        ),
        seq=7,
    )
    report = check([*notify(CONFIRMED), stray], measure(CONFIRMED))
    assert effect_violations(report) == [
        f"notifications output at notifications[0]@1 names cause {PAID.event_id}, which is no "
        "committed event on order-events"
    ]


def test_an_order_event_read_twice_needs_its_effects_only_once() -> None:
    report = check(notify(CONFIRMED), measure(CONFIRMED), order_events=(CONFIRMED, CONFIRMED))
    assert effect_violations(report) == []
    assert any(f"event {CONFIRMED.event_id} was derived 2 times" in v for v in report.violations)


def test_an_order_event_dead_lettered_by_notifications_needs_no_notification() -> None:
    (source,) = records(NAMES.order_events, CONFIRMED)
    dead = [dead_letter(NAMES.dead_letters, CONFIRMED, source, "notifications")]
    report = check([], measure(CONFIRMED), dead_letters=dead)
    assert effect_violations(report) == []


def test_effects_are_not_checked_for_an_output_topic_that_was_not_read() -> None:
    report = check_invariants(
        records(NAMES.orders, PLACED) + records(NAMES.payments, PAID),
        {TopicRole.ORDER_EVENTS: records(NAMES.order_events, CONFIRMED)},
        [],
    )
    assert effect_violations(report) == []
    assert report.effects.total() == 0
