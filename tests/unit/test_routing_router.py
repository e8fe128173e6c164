"""Routing one event: its EventBridge shape, the rules and subscriptions it matches, the bytes."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from models.envelope import SCHEMA_VERSION, Envelope, derive, encode_event
from models.events import OrderConfirmed, OrderLine, OrderPlaced, ShipmentRequested
from models.routing.filter_policies import FilterPolicyScope
from models.routing.router import Routed, event_bridge_event, route
from models.routing.rules import InputTransformer, Rule, RuleState, Target
from models.routing.subscriptions import Subscription
from models.topics import TopicRole
from tests.unit.routing_samples import HIGH_VALUE as HIGH_VALUE_PATTERN

HIGH_VALUE = json.dumps(HIGH_VALUE_PATTERN)
ALL_OURS = json.dumps({"source": [{"prefix": "ecommerce-streams."}]})
EVENT_ID = UUID("6a7e8feb-b491-4cf7-a9f1-bf3703467718")
OCCURRED_AT = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
INGESTION_TIME = datetime(2026, 11, 30, 8, 0, 1, 250_000, tzinfo=UTC)
ORDERS = TopicRole.ORDER_EVENTS
SHIPMENTS = TopicRole.SHIPMENTS


def confirmed(total: str = "612.50", **fields: Any) -> Envelope:
    """An OrderConfirmed of ``total`` EUR, sent from the web."""
    data = OrderConfirmed(order_id="o-1", customer_id="c-1", total=Decimal(total), currency="EUR")
    return Envelope.of(
        data,
        event_id=fields.pop("event_id", EVENT_ID),
        source="web",
        occurred_at=fields.pop("occurred_at", OCCURRED_AT),
        **fields,
    )


def line(sku: str, qty: int, unit_price: str) -> OrderLine:
    """One order line."""
    return OrderLine(sku=sku, qty=qty, unit_price=Decimal(unit_price))


def placed(*lines: OrderLine) -> Envelope:
    """An OrderPlaced of these lines (its total their sum)."""
    total = sum((item.qty * item.unit_price for item in lines), start=Decimal(0))
    data = OrderPlaced(
        order_id="o-1",
        customer_id="c-1",
        lines=lines,
        currency="EUR",
        total=total,
        shipping_address="1 rue de la Paix, Paris",
    )
    return Envelope.of(data, event_id=EVENT_ID, source="web", occurred_at=OCCURRED_AT)


def shipment(*lines: OrderLine) -> Envelope:
    """A ShipmentRequested of these lines, derived from an OrderPlaced of them."""
    data = ShipmentRequested(
        order_id="o-1", customer_id="c-1", lines=lines, address="1 rue de la Paix, Paris"
    )
    return derive(placed(*lines), data)


def eb_event(envelope: Envelope, topic: TopicRole = ORDERS) -> dict[str, Any]:
    """The EventBridge event of an envelope read from ``topic``."""
    return event_bridge_event(envelope, topic, json.loads(encode_event(envelope)))


def kafka(target_id: str, **fields: Any) -> Target:
    """A target sending to the Kafka topic named after its id."""
    return Target(target_id, f"kafka:{target_id}", **fields)


def high_value(*targets: Target, name: str = "high-value-orders", **fields: Any) -> Rule:
    """The high-value rule (OrderConfirmed over 500) with these targets."""
    return Rule(name, HIGH_VALUE, targets=targets or (kafka("t1"),), **fields)


def subscription(
    subscription_id: str = "crm",
    topic: TopicRole = ORDERS,
    *,
    raw: bool = False,
    policy: dict[str, Any] | None = None,
    scope: FilterPolicyScope = FilterPolicyScope.MESSAGE_ATTRIBUTES,
) -> Subscription:
    """A subscription of the Kafka topic named after its id."""
    return Subscription(
        subscription_id,
        topic,
        f"kafka:{subscription_id}",
        filter_policy=None if policy is None else json.dumps(policy),
        filter_policy_scope=scope,
        raw_message_delivery=raw,
    )


def routed(
    envelope: Envelope,
    *,
    rules: tuple[Rule, ...] = (),
    subscriptions: tuple[Subscription, ...] = (),
    topic: TopicRole = ORDERS,
    headers: tuple[tuple[str, bytes], ...] = (),
) -> list[Routed]:
    """Every delivery of the envelope read from ``topic`` as its encoded record."""
    return route(
        rules, subscriptions, topic, envelope, encode_event(envelope), headers, INGESTION_TIME
    )


def notification(delivery: Routed) -> dict[str, Any]:
    """The SNS notification JSON a delivery carries."""
    document: dict[str, Any] = json.loads(delivery.value)
    return document


# --- the EventBridge event -------------------------------------------------------------------


def test_event_bridge_event_maps_every_envelope_field_as_documented() -> None:
    assert eb_event(confirmed()) == {
        "version": "0",
        "id": str(EVENT_ID),
        "detail-type": "OrderConfirmed",
        "source": "ecommerce-streams.order-events",
        "account": "000000000000",
        "time": "2026-11-30T08:00:00Z",
        "region": "local",
        "resources": [],
        "detail": {"order_id": "o-1", "customer_id": "c-1", "total": 612.5, "currency": "EUR"},
    }


def test_event_bridge_source_names_the_topic_the_event_was_read_from() -> None:
    assert eb_event(shipment(line("FR-1", 1, "10.00")), SHIPMENTS)["source"] == (
        "ecommerce-streams.shipments"
    )


def test_event_bridge_time_is_occurred_at_in_utc_even_when_given_with_an_offset() -> None:
    paris = datetime.fromisoformat("2026-11-30T09:00:00+01:00")
    assert eb_event(confirmed(occurred_at=paris))["time"] == "2026-11-30T08:00:00Z"


def test_envelope_source_and_correlation_are_not_part_of_the_event_bridge_event() -> None:
    event = eb_event(confirmed(correlation_id="corr-9"))
    assert "corr-9" not in json.dumps(event)
    assert event["source"] != "web"


def test_money_is_a_number_in_detail_so_numeric_patterns_compare_it() -> None:
    total = eb_event(confirmed("612.50"))["detail"]["total"]
    assert total == 612.5
    assert type(total) is float


def test_a_whole_amount_of_money_is_an_integer_in_detail() -> None:
    total = eb_event(confirmed("20.00"))["detail"]["total"]
    assert total == 20
    assert type(total) is int


def test_unit_prices_inside_lines_are_numbers_and_other_fields_are_untouched() -> None:
    envelope = shipment(line("FR-1", 2, "19.99"), line("DE-7", 1, "5.00"))
    assert eb_event(envelope, SHIPMENTS)["detail"] == {
        "order_id": "o-1",
        "customer_id": "c-1",
        "lines": [
            {"sku": "FR-1", "qty": 2, "unit_price": 19.99},
            {"sku": "DE-7", "qty": 1, "unit_price": 5},
        ],
        "address": "1 rue de la Paix, Paris",
    }
    prices = [item["unit_price"] for item in eb_event(envelope, SHIPMENTS)["detail"]["lines"]]
    assert [type(price) for price in prices] == [float, int]


def test_total_and_unit_prices_of_an_order_placed_are_all_numbers() -> None:
    detail = eb_event(placed(line("FR-1", 3, "10.10"), line("FR-2", 1, "0.70")), TopicRole.ORDERS)[
        "detail"
    ]
    assert detail["total"] == 31
    assert type(detail["total"]) is int
    assert [item["unit_price"] for item in detail["lines"]] == [10.1, 0.7]


def test_event_bridge_time_has_whole_seconds_even_when_occurred_at_has_a_fraction() -> None:
    moment = datetime(2026, 11, 30, 8, 0, 0, 250_000, tzinfo=UTC)
    assert eb_event(confirmed(occurred_at=moment))["time"] == "2026-11-30T08:00:00Z"


# --- rules -----------------------------------------------------------------------------------


def test_the_high_value_rule_routes_a_612_euro_order_confirmed_to_its_target() -> None:
    envelope = confirmed("612.50")
    [delivery] = routed(envelope, rules=(high_value(),))
    assert delivery.route == "rule/high-value-orders/t1"
    assert delivery.destination.text == "kafka:t1"
    assert json.loads(delivery.value) == eb_event(envelope)


def test_a_delivery_carries_its_targets_retry_policy_for_the_delivery_service() -> None:
    limits = {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 300}
    web = Target("web", "https://hooks.example.com/orders", retry_policy=limits)

    [delivery] = routed(confirmed("612.50"), rules=(high_value(web),))

    assert delivery.retry_policy == limits


def test_the_high_value_rule_does_not_route_a_20_euro_order_confirmed() -> None:
    assert routed(confirmed("20.00"), rules=(high_value(),)) == []


def test_a_disabled_rule_routes_nothing() -> None:
    assert routed(confirmed("612.50"), rules=(high_value(state=RuleState.DISABLED),)) == []


def test_a_rule_with_two_targets_routes_to_both_in_target_order() -> None:
    rule = high_value(kafka("zeta"), kafka("alpha"))
    deliveries = routed(confirmed(), rules=(rule,))
    assert [d.route for d in deliveries] == [
        "rule/high-value-orders/zeta",
        "rule/high-value-orders/alpha",
    ]
    assert [d.destination.text for d in deliveries] == ["kafka:zeta", "kafka:alpha"]


def test_rules_are_evaluated_in_name_order_whatever_order_they_are_given_in() -> None:
    rules = (high_value(name="b-rule"), high_value(name="c-rule"), high_value(name="a-rule"))
    assert [d.route for d in routed(confirmed(), rules=rules)] == [
        "rule/a-rule/t1",
        "rule/b-rule/t1",
        "rule/c-rule/t1",
    ]


def test_only_rules_whose_pattern_matches_route_the_event() -> None:
    shipments_only = Rule("shipments", json.dumps({"detail-type": ["ShipmentRequested"]}))
    rules = (high_value(), shipments_only)
    assert [d.route for d in routed(confirmed(), rules=rules)] == ["rule/high-value-orders/t1"]


def test_a_rule_can_match_on_the_topic_through_the_event_source() -> None:
    rule = Rule(
        "from-order-events",
        json.dumps({"source": ["ecommerce-streams.order-events"]}),
        targets=(kafka("t1"),),
    )
    assert len(routed(confirmed("20.00"), rules=(rule,))) == 1


def test_a_target_with_input_receives_its_constant_text() -> None:
    constant = '{"alert": "big order"}'
    [delivery] = routed(confirmed(), rules=(high_value(kafka("t1", input=constant)),))
    assert delivery.value == constant.encode()


def test_a_target_with_input_path_receives_the_detail_it_selects() -> None:
    [delivery] = routed(confirmed(), rules=(high_value(kafka("t1", input_path="$.detail")),))
    assert (
        delivery.value == b'{"order_id":"o-1","customer_id":"c-1","total":612.5,"currency":"EUR"}'
    )


def test_a_target_with_an_input_transformer_receives_its_filled_template() -> None:
    transformer = InputTransformer(
        '{"order": <order>, "total": <total>, "text": "Order <order> of <total>"}',
        {"order": "$.detail.order_id", "total": "$.detail.total"},
    )
    [delivery] = routed(
        confirmed(), rules=(high_value(kafka("t1", input_transformer=transformer)),)
    )
    assert delivery.value == (b'{"order": "o-1", "total": 612.5, "text": "Order o-1 of 612.5"}')


def test_the_ingestion_time_of_a_transformer_is_the_ingestion_time_argument() -> None:
    transformer = InputTransformer(
        '{"at": "<aws.events.event.ingestion-time>", "rule": "<aws.events.rule-name>"}'
    )
    [delivery] = routed(
        confirmed(), rules=(high_value(kafka("t1", input_transformer=transformer)),)
    )
    assert json.loads(delivery.value) == {
        "at": "2026-11-30T08:00:01.250Z",
        "rule": "high-value-orders",
    }


def test_the_ingestion_time_is_not_the_time_the_event_occurred() -> None:
    transformer = InputTransformer(
        '{"at": "<aws.events.event.ingestion-time>", "time": <time>}', {"time": "$.time"}
    )
    [delivery] = routed(
        confirmed(), rules=(high_value(kafka("t1", input_transformer=transformer)),)
    )
    assert json.loads(delivery.value) == {
        "at": "2026-11-30T08:00:01.250Z",
        "time": "2026-11-30T08:00:00Z",
    }


# --- subscriptions ---------------------------------------------------------------------------


def test_only_subscriptions_of_the_events_topic_receive_it() -> None:
    subscriptions = (subscription("crm", ORDERS), subscription("warehouse", SHIPMENTS))
    assert [d.route for d in routed(confirmed(), subscriptions=subscriptions)] == [
        "subscription/crm"
    ]


def test_subscriptions_are_delivered_in_id_order_after_the_rules_targets() -> None:
    subscriptions = (subscription("zz-crm"), subscription("aa-audit"))
    deliveries = routed(confirmed(), rules=(high_value(),), subscriptions=subscriptions)
    assert [d.route for d in deliveries] == [
        "rule/high-value-orders/t1",
        "subscription/aa-audit",
        "subscription/zz-crm",
    ]
    assert deliveries[1].destination.text == "kafka:aa-audit"


def test_raw_message_delivery_sends_exactly_the_records_bytes() -> None:
    envelope = confirmed()
    [delivery] = routed(envelope, subscriptions=(subscription(raw=True),))
    assert delivery.value == encode_event(envelope)


def test_without_raw_delivery_the_subscriber_receives_snss_notification_json() -> None:
    envelope = confirmed()
    [delivery] = routed(envelope, subscriptions=(subscription(),))
    document = notification(delivery)
    assert set(document) == {
        "Type",
        "MessageId",
        "TopicArn",
        "Message",
        "Timestamp",
        "MessageAttributes",
    }
    assert document["Type"] == "Notification"
    assert document["TopicArn"] == "arn:aws:sns:local:000000000000:order-events"
    assert document["Message"] == encode_event(envelope).decode()
    assert document["Timestamp"] == "2026-11-30T08:00:00.000Z"
    assert str(UUID(document["MessageId"])) == document["MessageId"]


def test_the_notification_timestamp_keeps_milliseconds_of_occurred_at() -> None:
    moment = datetime(2026, 11, 30, 8, 0, 0, 123_456, tzinfo=UTC)
    [delivery] = routed(confirmed(occurred_at=moment), subscriptions=(subscription(),))
    assert notification(delivery)["Timestamp"] == "2026-11-30T08:00:00.123Z"


def test_the_message_id_is_the_same_for_the_same_event_and_subscription() -> None:
    first = notification(routed(confirmed(), subscriptions=(subscription(),))[0])
    again = notification(routed(confirmed(), subscriptions=(subscription(),))[0])
    assert first["MessageId"] == again["MessageId"]


def test_the_message_id_differs_for_another_subscription_of_the_same_event() -> None:
    crm, audit = (
        notification(d)
        for d in routed(confirmed(), subscriptions=(subscription("crm"), subscription("zz")))
    )
    assert crm["MessageId"] != audit["MessageId"]


def test_the_message_id_differs_for_another_event_to_the_same_subscription() -> None:
    other = confirmed(event_id=UUID("00000000-0000-0000-0000-000000000002"))
    first = notification(routed(confirmed(), subscriptions=(subscription(),))[0])
    second = notification(routed(other, subscriptions=(subscription(),))[0])
    assert first["MessageId"] != second["MessageId"]


def test_message_attributes_are_the_envelopes_fields_with_schema_version_a_number() -> None:
    cause = UUID("11111111-1111-1111-1111-111111111111")
    envelope = confirmed(correlation_id="corr-1", causation_id=cause)
    [delivery] = routed(envelope, subscriptions=(subscription(),))
    assert notification(delivery)["MessageAttributes"] == {
        "causation_id": {"Type": "String", "Value": str(cause)},
        "correlation_id": {"Type": "String", "Value": "corr-1"},
        "event_id": {"Type": "String", "Value": str(EVENT_ID)},
        "event_type": {"Type": "String", "Value": "OrderConfirmed"},
        "schema_version": {"Type": "Number", "Value": str(SCHEMA_VERSION)},
        "source": {"Type": "String", "Value": "web"},
    }


def test_an_envelope_without_causation_has_no_causation_id_attribute() -> None:
    [delivery] = routed(confirmed(), subscriptions=(subscription(),))
    assert "causation_id" not in notification(delivery)["MessageAttributes"]


def test_kafka_headers_become_string_attributes() -> None:
    headers = (("tenant", b"acme"), ("trace", b"abc-123"))
    [delivery] = routed(confirmed(), subscriptions=(subscription(),), headers=headers)
    attributes = notification(delivery)["MessageAttributes"]
    assert attributes["tenant"] == {"Type": "String", "Value": "acme"}
    assert attributes["trace"] == {"Type": "String", "Value": "abc-123"}


def test_an_envelope_field_wins_over_a_header_of_the_same_name() -> None:
    headers = (("event_type", b"Forged"), ("source", b"mobile"), ("schema_version", b"9"))
    [delivery] = routed(confirmed(), subscriptions=(subscription(),), headers=headers)
    attributes = notification(delivery)["MessageAttributes"]
    assert attributes["event_type"] == {"Type": "String", "Value": "OrderConfirmed"}
    assert attributes["source"] == {"Type": "String", "Value": "web"}
    assert attributes["schema_version"] == {"Type": "Number", "Value": str(SCHEMA_VERSION)}


def test_a_body_policy_on_line_skus_accepts_a_shipment_with_one_fr_line_among_others() -> None:
    policy = {"data": {"lines": {"sku": [{"prefix": "FR-"}]}}}
    warehouse = subscription(
        "fr-warehouse", SHIPMENTS, policy=policy, scope=FilterPolicyScope.MESSAGE_BODY
    )
    envelope = shipment(line("DE-1", 1, "5.00"), line("FR-9", 2, "7.50"), line("IT-3", 1, "1.00"))
    [delivery] = routed(envelope, subscriptions=(warehouse,), topic=SHIPMENTS)
    assert delivery.route == "subscription/fr-warehouse"


def test_a_body_policy_on_line_skus_refuses_a_shipment_without_an_fr_line() -> None:
    policy = {"data": {"lines": {"sku": [{"prefix": "FR-"}]}}}
    warehouse = subscription(
        "fr-warehouse", SHIPMENTS, policy=policy, scope=FilterPolicyScope.MESSAGE_BODY
    )
    envelope = shipment(line("DE-1", 1, "5.00"), line("IT-3", 1, "1.00"))
    assert routed(envelope, subscriptions=(warehouse,), topic=SHIPMENTS) == []


def test_a_body_policy_sees_money_as_the_string_on_the_topic() -> None:
    policy = {"data": {"total": ["612.50"]}}
    crm = subscription("crm", policy=policy, scope=FilterPolicyScope.MESSAGE_BODY)
    assert len(routed(confirmed("612.50"), subscriptions=(crm,))) == 1


def test_an_attributes_policy_on_event_type_accepts_only_that_event_type() -> None:
    crm = subscription("crm", policy={"event_type": ["OrderConfirmed"]})
    refunds = subscription("refunds", policy={"event_type": ["RefundRequested"]})
    assert [d.route for d in routed(confirmed(), subscriptions=(crm, refunds))] == [
        "subscription/crm"
    ]


def test_an_attributes_policy_can_filter_on_a_kafka_header() -> None:
    acme = subscription("acme", policy={"tenant": ["acme"]})
    headers = (("tenant", b"acme"),)
    assert len(routed(confirmed(), subscriptions=(acme,), headers=headers)) == 1
    assert routed(confirmed(), subscriptions=(acme,), headers=(("tenant", b"other"),)) == []


def test_an_attributes_policy_compares_schema_version_as_a_number() -> None:
    current = subscription("current", policy={"schema_version": [{"numeric": [">=", 1]}]})
    assert len(routed(confirmed(), subscriptions=(current,))) == 1


# --- determinism -----------------------------------------------------------------------------


def test_routing_the_same_input_twice_gives_the_same_deliveries() -> None:
    envelope = shipment(line("FR-1", 2, "19.99"), line("DE-7", 1, "5.00"))
    transformer = InputTransformer(
        '{"at": "<aws.events.event.ingestion-time>", "d": <d>}', {"d": "$.detail"}
    )
    rules = (
        Rule("all", ALL_OURS, targets=(kafka("whole"), kafka("t", input_transformer=transformer))),
    )
    subscriptions = (
        subscription("raw", SHIPMENTS, raw=True),
        subscription("sns", SHIPMENTS),
    )
    headers = (("tenant", b"acme"),)

    def once() -> list[Routed]:
        return routed(
            envelope, rules=rules, subscriptions=subscriptions, topic=SHIPMENTS, headers=headers
        )

    first = once()
    assert len(first) == 4
    assert once() == first


def test_no_rules_and_no_subscriptions_route_nothing_without_reading_the_bytes() -> None:
    assert route((), (), ORDERS, confirmed(), b"not json", (), INGESTION_TIME) == []


def test_subscriptions_of_other_topics_only_route_nothing_without_reading_the_bytes() -> None:
    others = (subscription("warehouse", SHIPMENTS),)
    assert route((), others, ORDERS, confirmed(), b"not json", (), INGESTION_TIME) == []
