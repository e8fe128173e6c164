"""A queue's name and attributes are accepted and refused as SQS documents them."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.queues.attributes import (
    QueueAttributes,
    RedrivePolicy,
    attributes_from_request,
    check_queue_name,
    queue_arn,
)
from models.routing.checks import AwsError

BOUNDS = [
    ("VisibilityTimeout", "visibility_timeout", 0, 43_200),
    ("MessageRetentionPeriod", "retention_seconds", 60, 1_209_600),
    ("DelaySeconds", "delay_seconds", 0, 900),
    ("ReceiveMessageWaitTimeSeconds", "wait_seconds", 0, 20),
    ("MaximumMessageSize", "maximum_message_size", 1024, 262_144),
]
DLQ_ARN = "arn:aws:sqs:local:000000000000:orders-dlq"


def refused(attributes: dict[str, object], **kwargs: object) -> AwsError:
    """The AwsError attributes_from_request raises for ``attributes``."""
    with pytest.raises(AwsError) as caught:
        attributes_from_request(attributes, **kwargs)  # type: ignore[arg-type]
    return caught.value


def redrive(arn: object = DLQ_ARN, count: object = 3) -> str:
    return json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": count})


# --- defaults ---------------------------------------------------------------------------


def test_create_queue_without_attributes_gets_sqs_defaults() -> None:
    attributes = attributes_from_request({})

    assert attributes == QueueAttributes()
    assert attributes.to_strings() == {
        "VisibilityTimeout": "30",
        "MessageRetentionPeriod": "345600",
        "DelaySeconds": "0",
        "ReceiveMessageWaitTimeSeconds": "0",
        "MaximumMessageSize": "262144",
    }
    assert attributes.fifo is False
    assert attributes.content_based_deduplication is False
    assert attributes.redrive is None


def test_standard_queue_attributes_do_not_report_fifo_settings() -> None:
    strings = attributes_from_request({}).to_strings()

    assert "FifoQueue" not in strings
    assert "ContentBasedDeduplication" not in strings
    assert "RedrivePolicy" not in strings


# --- integer bounds ---------------------------------------------------------------------


@pytest.mark.parametrize(("name", "field", "low", "high"), BOUNDS)
def test_integer_attribute_accepts_both_ends_of_its_documented_range(
    name: str, field: str, low: int, high: int
) -> None:
    assert getattr(attributes_from_request({name: str(low)}), field) == low
    assert getattr(attributes_from_request({name: str(high)}), field) == high


@pytest.mark.parametrize(("name", "field", "low", "high"), BOUNDS)
def test_integer_attribute_one_past_its_range_is_invalid_attribute_value_naming_it(
    name: str, field: str, low: int, high: int
) -> None:
    for value in (low - 1, high + 1):
        error = refused({name: str(value)})
        assert error.aws_type == "InvalidAttributeValue"
        assert name in error.message


@pytest.mark.parametrize("name", [name for name, *_ in BOUNDS])
@pytest.mark.parametrize("value", ["", "thirty", "1.5", "1e2", "0x10", "3 0", "30s"])
def test_integer_attribute_that_is_not_an_integer_is_invalid_attribute_value(
    name: str, value: str
) -> None:
    error = refused({name: value})

    assert error.aws_type == "InvalidAttributeValue"
    assert name in error.message


def test_attribute_value_that_is_not_a_string_is_invalid_attribute_value() -> None:
    error = refused({"VisibilityTimeout": 30})

    assert error.aws_type == "InvalidAttributeValue"
    assert "VisibilityTimeout" in error.message


@pytest.mark.parametrize("value", ["--5", "²"])
def test_malformed_integer_attribute_is_invalid_attribute_value_not_a_crash(value: str) -> None:
    error = refused({"VisibilityTimeout": value})

    assert error.aws_type == "InvalidAttributeValue"


# --- attribute names --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["NoSuchAttribute", "visibilitytimeout", "QueueArn", ""])
def test_unknown_attribute_is_invalid_attribute_name(name: str) -> None:
    error = refused({name: "1"})

    assert error.aws_type == "InvalidAttributeName"
    assert name in error.message


def test_set_queue_attributes_changes_only_the_given_attributes() -> None:
    base = attributes_from_request({"VisibilityTimeout": "45", "DelaySeconds": "5"})

    changed = attributes_from_request({"DelaySeconds": "7"}, base=base)

    assert changed.visibility_timeout == 45
    assert changed.delay_seconds == 7
    assert base.delay_seconds == 5


# --- RedrivePolicy ----------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 1000, "1", "1000", 5, "05"])
def test_redrive_policy_accepts_max_receive_count_1_to_1000_as_int_or_digit_string(
    count: object,
) -> None:
    attributes = attributes_from_request({"RedrivePolicy": redrive(count=count)})

    assert attributes.redrive == RedrivePolicy("orders-dlq", int(str(count)))


@pytest.mark.parametrize("count", [0, 1001, "0", "1001", -1, "-1", 2.5, "2.5", "x", True, None])
def test_redrive_policy_max_receive_count_outside_1_to_1000_is_invalid_attribute_value(
    count: object,
) -> None:
    error = refused({"RedrivePolicy": redrive(count=count)})

    assert error.aws_type == "InvalidAttributeValue"
    assert "RedrivePolicy" in error.message


def test_redrive_policy_without_max_receive_count_is_invalid_attribute_value() -> None:
    error = refused({"RedrivePolicy": json.dumps({"deadLetterTargetArn": DLQ_ARN})})

    assert error.aws_type == "InvalidAttributeValue"


@pytest.mark.parametrize("text", ["{", "not json", "[]", '"arn"', "3", "null"])
def test_redrive_policy_that_is_not_a_json_object_is_invalid_attribute_value(text: str) -> None:
    error = refused({"RedrivePolicy": text})

    assert error.aws_type == "InvalidAttributeValue"
    assert "RedrivePolicy" in error.message


@pytest.mark.parametrize(
    "arn",
    ["arn:aws:sns:local:000000000000:topic", "orders-dlq", "", None, 7, "ARN:AWS:SQS:x:y:z"],
)
def test_redrive_policy_with_a_dead_letter_target_that_is_not_an_sqs_arn_is_refused(
    arn: object,
) -> None:
    error = refused({"RedrivePolicy": redrive(arn=arn)})

    assert error.aws_type == "InvalidAttributeValue"
    assert "RedrivePolicy" in error.message


def test_redrive_policy_names_the_dead_letter_queue_from_the_arns_last_part() -> None:
    attributes = attributes_from_request({"RedrivePolicy": redrive(arn=queue_arn("my-dlq"))})

    assert attributes.redrive is not None
    assert attributes.redrive.dead_letter_queue == "my-dlq"


def test_empty_redrive_policy_removes_the_queues_redrive_policy() -> None:
    base = attributes_from_request({"RedrivePolicy": redrive()})

    assert attributes_from_request({"RedrivePolicy": ""}, base=base).redrive is None


def test_redrive_policy_max_receive_count_of_unicode_digits_is_refused_not_a_crash() -> None:
    error = refused({"RedrivePolicy": redrive(count="²")})

    assert error.aws_type == "InvalidAttributeValue"


# --- FifoQueue / ContentBasedDeduplication ----------------------------------------------


def test_content_based_deduplication_on_a_standard_queue_is_invalid_attribute_value() -> None:
    error = refused({"ContentBasedDeduplication": "true"})

    assert error.aws_type == "InvalidAttributeValue"
    assert "ContentBasedDeduplication" in error.message


def test_content_based_deduplication_can_be_turned_on_for_a_fifo_queue() -> None:
    created = attributes_from_request({"FifoQueue": "true", "ContentBasedDeduplication": "true"})
    later = attributes_from_request(
        {"ContentBasedDeduplication": "true"},
        base=attributes_from_request({"FifoQueue": "true"}),
    )

    assert created.fifo and created.content_based_deduplication
    assert later.fifo and later.content_based_deduplication


@pytest.mark.parametrize("name", ["FifoQueue", "ContentBasedDeduplication"])
@pytest.mark.parametrize("value", ["yes", "1", "", "on"])
def test_flag_attribute_other_than_true_or_false_is_invalid_attribute_value(
    name: str, value: str
) -> None:
    error = refused({name: value, "FifoQueue": "true"} if name != "FifoQueue" else {name: value})

    assert error.aws_type == "InvalidAttributeValue"
    assert name in error.message


# --- to_strings round trip --------------------------------------------------------------


@pytest.mark.parametrize(
    "attributes",
    [
        QueueAttributes(),
        QueueAttributes(visibility_timeout=0, retention_seconds=60, delay_seconds=900),
        QueueAttributes(wait_seconds=20, maximum_message_size=1024),
        QueueAttributes(fifo=True),
        QueueAttributes(fifo=True, content_based_deduplication=True),
        QueueAttributes(redrive=RedrivePolicy("orders-dlq", 1000)),
    ],
)
def test_get_queue_attributes_strings_are_accepted_back_by_set_queue_attributes(
    attributes: QueueAttributes,
) -> None:
    assert attributes_from_request(attributes.to_strings()) == attributes


def test_redrive_policy_is_reported_as_json_with_the_dead_letter_queue_arn() -> None:
    strings = QueueAttributes(redrive=RedrivePolicy("orders-dlq", 4)).to_strings()

    assert json.loads(strings["RedrivePolicy"]) == {
        "deadLetterTargetArn": queue_arn("orders-dlq"),
        "maxReceiveCount": 4,
    }


@settings(max_examples=60, deadline=None)
@given(
    visibility=st.integers(0, 43_200),
    retention=st.integers(60, 1_209_600),
    delay=st.integers(0, 900),
    wait=st.integers(0, 20),
    size=st.integers(1024, 262_144),
    fifo=st.booleans(),
    dedup=st.booleans(),
    max_receive=st.none() | st.integers(1, 1000),
)
def test_any_valid_attributes_round_trip_through_their_strings(
    visibility: int,
    retention: int,
    delay: int,
    wait: int,
    size: int,
    fifo: bool,
    dedup: bool,
    max_receive: int | None,
) -> None:
    attributes = QueueAttributes(
        visibility_timeout=visibility,
        retention_seconds=retention,
        delay_seconds=delay,
        wait_seconds=wait,
        maximum_message_size=size,
        fifo=fifo,
        content_based_deduplication=fifo and dedup,
        redrive=None if max_receive is None else RedrivePolicy("dlq", max_receive),
    )

    assert attributes_from_request(attributes.to_strings()) == attributes


def test_queue_arn_is_an_sqs_arn_ending_in_the_queue_name() -> None:
    assert queue_arn("orders") == "arn:aws:sqs:local:000000000000:orders"


# --- queue names ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "A" * 80, "Orders_2024-eu", "0", "-_-"])
def test_standard_queue_name_of_1_to_80_alphanumerics_hyphens_underscores_is_accepted(
    name: str,
) -> None:
    assert check_queue_name(name, fifo=False) == name


@pytest.mark.parametrize(
    "name",
    ["", "A" * 81, "orders.dlq", "has space", "slash/name", "café", "orders.fifo", "a:b"],
)
def test_standard_queue_name_otherwise_is_invalid_parameter_value(name: str) -> None:
    with pytest.raises(AwsError) as caught:
        check_queue_name(name, fifo=False)

    assert caught.value.aws_type == "InvalidParameterValue"


@pytest.mark.parametrize("name", ["a.fifo", "A" * 75 + ".fifo", "orders_eu-1.fifo"])
def test_fifo_queue_name_ending_in_fifo_within_80_characters_is_accepted(name: str) -> None:
    assert check_queue_name(name, fifo=True) == name


@pytest.mark.parametrize(
    "name", ["orders", ".fifo", "A" * 76 + ".fifo", "orders.FIFO", "or.ders.fifo", "a.fifo.fifo"]
)
def test_fifo_queue_name_not_ending_in_fifo_or_too_long_is_invalid_parameter_value(
    name: str,
) -> None:
    with pytest.raises(AwsError) as caught:
        check_queue_name(name, fifo=True)

    assert caught.value.aws_type == "InvalidParameterValue"


@pytest.mark.parametrize("name", [None, 7, b"orders"])
def test_queue_name_that_is_not_a_string_is_invalid_parameter_value(name: object) -> None:
    with pytest.raises(AwsError) as caught:
        check_queue_name(name, fifo=False)

    assert caught.value.aws_type == "InvalidParameterValue"
