"""SNS subscriptions to our topics: Subscribe and its attributes, Unsubscribe, listing, records."""

import json
from typing import Any

import pytest

from models.routing.checks import AwsError
from models.routing.filter_policies import FilterPolicyScope, MessageAttribute
from models.routing.rules import DestinationKind
from models.routing.subscriptions import (
    Subscription,
    list_subscriptions,
    notification_provider,
    subscribe,
    subscription_from_bytes,
    subscription_to_bytes,
    topic_arn,
    unsubscribe,
)
from models.topics import TopicRole

#: AWS's example filter policy (customer transactions), on message attributes.
EXAMPLE_POLICY = json.dumps(
    {
        "store": ["example_corp"],
        "event": [{"anything-but": "order_cancelled"}],
        "customer_interests": ["rugby", "football", "baseball"],
        "price_usd": [{"numeric": [">=", 100]}],
    }
)
EXAMPLE_ATTRIBUTES = {
    "customer_interests": MessageAttribute("String.Array", '["soccer", "rugby", "hockey"]'),
    "store": MessageAttribute("String", "example_corp"),
    "event": MessageAttribute("String", "order_placed"),
    "price_usd": MessageAttribute("Number", "210.75"),
}


def request(**fields: Any) -> dict[str, Any]:
    """A Subscribe request for a Kafka endpoint on the order events topic."""
    return {
        "TopicArn": "arn:aws:sns:local:000000000000:order-events",
        "Protocol": "kafka",
        "Endpoint": "kafka:crm-order-events",
        **fields,
    }


def refused(subscriptions: dict[str, Subscription], **fields: Any) -> AwsError:
    """The AwsError Subscribe raises for the request."""
    with pytest.raises(AwsError) as raised:
        subscribe(subscriptions, request(**fields))
    return raised.value


def test_subscribe_adds_a_subscription_with_awss_defaults() -> None:
    subscriptions, subscription = subscribe({}, request())
    assert subscriptions == {subscription.id: subscription}
    assert subscription.topic is TopicRole.ORDER_EVENTS
    assert subscription.protocol is DestinationKind.KAFKA
    assert subscription.attributes() == {
        "FilterPolicyScope": "MessageAttributes",
        "RawMessageDelivery": "false",
    }
    assert subscription.arn == f"{topic_arn(TopicRole.ORDER_EVENTS)}:{subscription.id}"


def test_the_id_is_derived_from_topic_and_endpoint_or_given() -> None:
    _, first = subscribe({}, request())
    _, again = subscribe({}, request())
    _, other = subscribe({}, request(Endpoint="kafka:another"))
    assert first.id == again.id != other.id
    _, given = subscribe({}, request(SubscriptionId="crm-1"))
    assert given.id == "crm-1"


def test_a_topic_is_named_by_its_role_or_an_arn_ending_in_it() -> None:
    _, by_name = subscribe({}, request(TopicArn="shipments"))
    assert by_name.topic is TopicRole.SHIPMENTS


@pytest.mark.parametrize(
    "topic", ["arn:aws:sns:local:000000000000:nope", "dead-letters-redriven", "orders"]
)
def test_subscribing_to_a_topic_we_do_not_offer_is_not_found(topic: str) -> None:
    assert refused({}, TopicArn=topic).body() == {
        "__type": "NotFoundException",
        "message": "Topic does not exist",
    }


def test_an_http_endpoint_subscribes_with_the_protocol_of_its_scheme() -> None:
    _, subscription = subscribe(
        {}, request(Protocol="https", Endpoint="https://crm.example.com/sns")
    )
    assert subscription.protocol is DestinationKind.HTTPS


def test_an_endpoint_must_match_the_protocol() -> None:
    error = refused({}, Protocol="http", Endpoint="kafka:crm")
    assert error.body() == {
        "__type": "InvalidParameterException",
        "message": "Invalid parameter: Endpoint must match the specified protocol",
    }


def test_an_unknown_protocol_or_a_malformed_endpoint_is_an_invalid_parameter() -> None:
    protocol = refused({}, Protocol="email")
    assert protocol.message == (
        "Invalid parameter: Amazon SNS does not support this protocol string: email"
    )
    endpoint = refused({}, Endpoint="kafka:..")
    assert endpoint.aws_type == "InvalidParameterException"
    assert endpoint.message.startswith("Invalid parameter: Endpoint: ")


def test_the_filter_policy_decides_which_messages_reach_the_endpoint() -> None:
    _, subscription = subscribe({}, request(Attributes={"FilterPolicy": EXAMPLE_POLICY}))
    assert subscription.accepts("{}", EXAMPLE_ATTRIBUTES)
    cheap = {**EXAMPLE_ATTRIBUTES, "price_usd": MessageAttribute("Number", "99")}
    assert not subscription.accepts("{}", cheap)


def test_a_message_body_policy_filters_on_the_body() -> None:
    attributes = {"FilterPolicy": '{"detail": {"total": [{"numeric": [">", 500]}]}}'}
    attributes["FilterPolicyScope"] = "MessageBody"
    _, subscription = subscribe({}, request(Attributes=attributes))
    assert subscription.filter_policy_scope is FilterPolicyScope.MESSAGE_BODY
    assert subscription.accepts('{"detail": {"total": 612.5}}', {})
    assert not subscription.accepts('{"detail": {"total": 12}}', {})


def test_an_empty_filter_policy_accepts_every_message() -> None:
    _, subscription = subscribe({}, request(Attributes={"FilterPolicy": ""}))
    assert subscription.policy is None
    assert subscription.accepts("anything", {})


def test_an_invalid_filter_policy_is_refused_with_snss_reason() -> None:
    error = refused({}, Attributes={"FilterPolicy": '{"a": [{"numeric": ["=", 2e9]}]}'})
    assert error.aws_type == "InvalidParameterException"
    assert error.message.startswith("Invalid parameter: FilterPolicy: ")


def test_attribute_values_are_strings_as_aws_sends_them() -> None:
    _, raw = subscribe({}, request(Attributes={"RawMessageDelivery": "true"}))
    assert raw.raw_message_delivery is True
    bad_raw = refused({}, Attributes={"RawMessageDelivery": "yes"})
    assert bad_raw.message == (
        "Invalid parameter: Attributes Reason: RawMessageDelivery: Invalid value [yes]. "
        "Must be true or false."
    )
    bad_scope = refused({}, Attributes={"FilterPolicyScope": "Body"})
    assert "FilterPolicyScope: Invalid value [Body]" in bad_scope.message
    assert refused({}, Attributes={"RawMessageDelivery": True}).aws_type == (
        "InvalidParameterException"
    )
    assert "Unknown attribute name" in refused({}, Attributes={"Color": "red"}).message


def test_subscribing_again_answers_the_existing_subscription() -> None:
    subscriptions, first = subscribe({}, request(Attributes={"RawMessageDelivery": "true"}))
    again, second = subscribe(subscriptions, request(Attributes={"RawMessageDelivery": "true"}))
    assert second is first
    assert again == subscriptions


def test_subscribing_again_with_other_attributes_is_refused() -> None:
    subscriptions, _ = subscribe({}, request())
    error = refused(subscriptions, Attributes={"RawMessageDelivery": "true"})
    assert error.message == (
        "Invalid parameter: Attributes Reason: Subscription already exists with different "
        "attributes"
    )


def test_unsubscribe_removes_the_subscription_by_arn_or_id() -> None:
    subscriptions, subscription = subscribe({}, request())
    assert unsubscribe(subscriptions, subscription.arn) == {}
    assert unsubscribe(subscriptions, subscription.id) == {}
    with pytest.raises(AwsError) as raised:
        unsubscribe({}, subscription.arn)
    assert raised.value.body() == {
        "__type": "NotFoundException",
        "message": "Subscription does not exist",
    }


def test_list_subscriptions_answers_awss_fields_optionally_for_one_topic() -> None:
    subscriptions, on_orders = subscribe({}, request())
    subscriptions, _ = subscribe(subscriptions, request(TopicArn="shipments"))
    assert len(list_subscriptions(subscriptions)["Subscriptions"]) == 2
    assert list_subscriptions(subscriptions, TopicRole.ORDER_EVENTS) == {
        "Subscriptions": [
            {
                "SubscriptionArn": on_orders.arn,
                "Owner": "000000000000",
                "Protocol": "kafka",
                "Endpoint": "kafka:crm-order-events",
                "TopicArn": "arn:aws:sns:local:000000000000:order-events",
            }
        ]
    }


def test_a_subscription_built_directly_is_checked_like_subscribe() -> None:
    as_text: Any = {"topic": "shipments", "filter_policy_scope": "MessageBody"}
    built = Subscription("s-1", endpoint="kafka:x", **as_text)
    assert built.topic is TopicRole.SHIPMENTS
    assert built.filter_policy_scope is FilterPolicyScope.MESSAGE_BODY
    with pytest.raises(AwsError, match="Invalid value \\[shipments\\]"):
        Subscription("s-1", TopicRole.SHIPMENTS, "kafka:x", filter_policy_scope=as_text["topic"])


def test_a_subscription_round_trips_through_its_record_bytes() -> None:
    attributes = {
        "FilterPolicy": EXAMPLE_POLICY,
        "FilterPolicyScope": "MessageAttributes",
        "RawMessageDelivery": "true",
    }
    _, subscription = subscribe(
        {}, request(Protocol="http", Endpoint="http://localhost:8080/sns", Attributes=attributes)
    )
    assert subscription_from_bytes(subscription_to_bytes(subscription)) == subscription
    assert subscription_from_bytes(None) is None


def test_the_notification_provider_gets_every_notification_as_it_is() -> None:
    _, provider = subscribe({}, notification_provider("https://mail.example/send"))

    assert (provider.id, provider.topic) == ("notification-provider", TopicRole.NOTIFICATIONS)
    assert provider.protocol is DestinationKind.HTTPS
    assert provider.raw_message_delivery and provider.policy is None
