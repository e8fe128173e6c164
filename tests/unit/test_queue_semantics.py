"""One queue behaves as SQS documents: send, receive, delete, visibility, redrive, FIFO."""

import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from models.queues.attributes import attributes_from_request, queue_arn
from models.queues.queue import Message, Queue, Received, message_from_json, message_to_json
from models.routing.checks import AwsError

T0 = 1_700_000_000.0
"""A send time whose milliseconds are exact in a float."""


def handles() -> Callable[[], str]:
    """Receipt handles h1, h2, ... in order."""
    counter = itertools.count(1)
    return lambda: f"h{next(counter)}"


def standard(**attributes: str) -> Queue:
    return Queue("orders", attributes_from_request(attributes))


def fifo(**attributes: str) -> Queue:
    return Queue("orders.fifo", attributes_from_request({"FifoQueue": "true", **attributes}))


def ids(received: list[Received]) -> list[str]:
    return [r.message.message_id for r in received]


def receive_ids(
    queue: Queue, now: float, new_handle: Callable[[], str], **kwargs: int
) -> list[str]:
    received, moved = queue.receive(now=now, new_handle=new_handle, **kwargs)
    assert moved == []
    return ids(received)


def receive_one(queue: Queue, now: float, new_handle: Callable[[], str], **kwargs: int) -> Received:
    received, _ = queue.receive(now=now, new_handle=new_handle, **kwargs)
    assert len(received) == 1, received
    return received[0]


def error_of(call: Callable[[], object]) -> AwsError:
    with pytest.raises(AwsError) as caught:
        call()
    return caught.value


# --- delay ------------------------------------------------------------------------------


def test_message_is_invisible_for_the_queues_delay_seconds() -> None:
    queue, h = standard(DelaySeconds="10"), handles()
    queue.send("a", now=T0, message_id="m1")

    assert receive_ids(queue, T0 + 9.999, h) == []
    assert queue.counts(T0 + 5)["ApproximateNumberOfMessagesDelayed"] == "1"
    assert receive_ids(queue, T0 + 10, h) == ["m1"]


def test_send_delay_seconds_overrides_the_queues_delay() -> None:
    queue, h = standard(DelaySeconds="10"), handles()
    queue.send("now", now=T0, message_id="m1", delay_seconds=0)
    queue.send("later", now=T0, message_id="m2", delay_seconds=900)

    assert receive_ids(queue, T0, h, max_messages=10, visibility_timeout=43_200) == ["m1"]
    assert receive_ids(queue, T0 + 899.9, h, max_messages=10) == []
    assert receive_ids(queue, T0 + 900, h, max_messages=10) == ["m2"]


@pytest.mark.parametrize("delay", [-1, 901])
def test_send_delay_seconds_outside_0_to_900_is_invalid_parameter_value(delay: int) -> None:
    queue = standard()

    error = error_of(lambda: queue.send("a", now=T0, message_id="m1", delay_seconds=delay))

    assert error.aws_type == "InvalidParameterValue"
    assert "DelaySeconds" in error.message
    assert queue.messages == {}


@pytest.mark.parametrize("delay", [0, 5])
def test_fifo_queue_refuses_a_per_message_delay_seconds(delay: int) -> None:
    queue = fifo(ContentBasedDeduplication="true")

    error = error_of(
        lambda: queue.send("a", now=T0, message_id="m1", group_id="g", delay_seconds=delay)
    )

    assert error.aws_type == "InvalidParameterValue"
    assert queue.messages == {}


def test_fifo_queue_delays_messages_by_the_queues_delay_seconds() -> None:
    queue, h = fifo(ContentBasedDeduplication="true", DelaySeconds="20"), handles()
    queue.send("a", now=T0, message_id="m1", group_id="g")

    assert receive_ids(queue, T0 + 19, h) == []
    assert receive_ids(queue, T0 + 20, h) == ["m1"]


# --- visibility timeout on receive ------------------------------------------------------


def test_received_message_is_hidden_for_the_visibility_timeout_then_returns_with_a_new_handle():
    queue, h = standard(), handles()
    queue.send("a", now=T0, message_id="m1")

    first = receive_one(queue, T0, h)
    assert receive_ids(queue, T0 + 29.999, h) == []
    second = receive_one(queue, T0 + 30, h)

    assert second.message.message_id == "m1"
    assert second.message.receipt_handle != first.message.receipt_handle
    assert first.answer()["Attributes"]["ApproximateReceiveCount"] == "1"
    assert second.answer()["Attributes"]["ApproximateReceiveCount"] == "2"


def test_queue_visibility_timeout_attribute_sets_how_long_a_received_message_is_hidden() -> None:
    queue, h = standard(VisibilityTimeout="5"), handles()
    queue.send("a", now=T0, message_id="m1")

    receive_one(queue, T0, h)

    assert receive_ids(queue, T0 + 4.9, h) == []
    assert receive_ids(queue, T0 + 5, h) == ["m1"]


def test_receive_visibility_timeout_overrides_the_queues() -> None:
    queue, h = standard(VisibilityTimeout="5"), handles()
    queue.send("a", now=T0, message_id="m1")

    receive_one(queue, T0, h, visibility_timeout=43_200)

    assert receive_ids(queue, T0 + 43_199, h) == []
    assert receive_ids(queue, T0 + 43_200, h, visibility_timeout=0) == ["m1"]
    assert receive_ids(queue, T0 + 43_200, h) == ["m1"]  # timeout 0: visible again at once


@pytest.mark.parametrize("timeout", [-1, 43_201])
def test_receive_visibility_timeout_outside_0_to_43200_is_invalid_parameter_value(
    timeout: int,
) -> None:
    queue, h = standard(), handles()
    queue.send("a", now=T0, message_id="m1")

    error = error_of(lambda: queue.receive(now=T0, new_handle=h, visibility_timeout=timeout))

    assert error.aws_type == "InvalidParameterValue"
    assert "VisibilityTimeout" in error.message
    assert queue.messages["m1"].receive_count == 0


# --- MaxNumberOfMessages ----------------------------------------------------------------


def test_receive_hands_out_at_most_max_number_of_messages_default_one() -> None:
    queue, h = standard(), handles()
    for n in range(12):
        queue.send(f"body {n}", now=T0, message_id=f"m{n}")

    assert len(receive_ids(queue, T0, h)) == 1
    assert len(receive_ids(queue, T0, h, max_messages=10)) == 10
    assert len(receive_ids(queue, T0, h, max_messages=10)) == 1


@pytest.mark.parametrize("count", [0, 11, -1])
def test_max_number_of_messages_outside_1_to_10_is_invalid_parameter_value(count: int) -> None:
    queue, h = standard(), handles()
    queue.send("a", now=T0, message_id="m1")

    error = error_of(lambda: queue.receive(now=T0, new_handle=h, max_messages=count))

    assert error.aws_type == "InvalidParameterValue"
    assert "MaxNumberOfMessages" in error.message


# --- message body -----------------------------------------------------------------------


def test_empty_message_body_is_invalid_parameter_value() -> None:
    queue = standard()

    assert error_of(lambda: queue.send("", now=T0, message_id="m1")).aws_type == (
        "InvalidParameterValue"
    )
    assert queue.messages == {}


def test_body_of_maximum_message_size_bytes_is_accepted_one_byte_more_refused() -> None:
    queue = standard(MaximumMessageSize="1024")

    queue.send("x" * 1024, now=T0, message_id="m1")
    error = error_of(lambda: queue.send("x" * 1025, now=T0, message_id="m2"))

    assert error.aws_type == "InvalidParameterValue"
    assert list(queue.messages) == ["m1"]


def test_body_size_is_counted_in_utf8_bytes_not_characters() -> None:
    queue = standard(MaximumMessageSize="1024")

    error = error_of(lambda: queue.send("é" * 513, now=T0, message_id="m1"))  # 1026 bytes

    assert error.aws_type == "InvalidParameterValue"


def test_default_maximum_message_size_is_256_kib() -> None:
    queue = standard()

    queue.send("x" * 262_144, now=T0, message_id="m1")

    assert error_of(lambda: queue.send("x" * 262_145, now=T0, message_id="m2")).aws_type == (
        "InvalidParameterValue"
    )


# --- ReceiveMessage answer --------------------------------------------------------------


def test_receive_answer_carries_id_handle_md5_body_and_system_attributes() -> None:
    queue, h = standard(), handles()
    queue.send("hello", now=T0, message_id="m1", attributes={"k": {"DataType": "String"}})

    answer = receive_one(queue, T0 + 2.5, h).answer()

    assert answer["MessageId"] == "m1"
    assert answer["ReceiptHandle"] == "h1"
    assert answer["MD5OfBody"] == hashlib.md5(b"hello").hexdigest()
    assert answer["MD5OfBody"] == "5d41402abc4b2a76b9719d911017c592"
    assert answer["Body"] == "hello"
    assert answer["MessageAttributes"] == {"k": {"DataType": "String"}}
    assert answer["Attributes"] == {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": str(int(T0 * 1000)),
        "ApproximateFirstReceiveTimestamp": str(int((T0 + 2.5) * 1000)),
    }


def test_approximate_first_receive_timestamp_stays_that_of_the_first_receive() -> None:
    queue, h = standard(), handles()
    queue.send("a", now=T0, message_id="m1")

    receive_one(queue, T0 + 1, h)
    later = receive_one(queue, T0 + 100, h).answer()["Attributes"]

    assert later["ApproximateFirstReceiveTimestamp"] == str(int((T0 + 1) * 1000))
    assert later["SentTimestamp"] == str(int(T0 * 1000))
    assert later["ApproximateReceiveCount"] == "2"


def test_approximate_first_receive_timestamp_of_a_first_receive_at_time_zero_is_kept() -> None:
    queue, h = standard(), handles()
    queue.send("a", now=0.0, message_id="m1")

    receive_one(queue, 0.0, h)
    later = receive_one(queue, 30.0, h).answer()["Attributes"]

    assert later["ApproximateFirstReceiveTimestamp"] == "0"


def test_sent_timestamp_is_the_send_time_in_whole_milliseconds() -> None:
    queue, h = standard(), handles()
    queue.send("a", now=1.001, message_id="m1")

    answer = receive_one(queue, 1.001, h).answer()

    assert answer["Attributes"]["SentTimestamp"] == "1001"


# --- delete -----------------------------------------------------------------------------


def test_delete_with_the_latest_receipt_handle_removes_the_message_for_good() -> None:
    queue, h = standard(), handles()
    queue.send("a", now=T0, message_id="m1")
    handle = receive_one(queue, T0, h).message.receipt_handle
    assert handle is not None

    queue.delete(handle)

    assert receive_ids(queue, T0 + 31, h, max_messages=10) == []
    assert receive_ids(queue, T0 + 100_000, h, max_messages=10) == []
    assert queue.counts(T0 + 31)["ApproximateNumberOfMessages"] == "0"
    assert queue.counts(T0 + 31)["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_delete_with_an_older_receipt_handle_succeeds_and_deletes_nothing() -> None:
    queue, h = standard(), handles()
    queue.send("a", now=T0, message_id="m1")
    old = receive_one(queue, T0, h).message.receipt_handle
    new = receive_one(queue, T0 + 30, h).message.receipt_handle
    assert old is not None and new is not None and old != new

    queue.delete(old)  # no error

    assert "m1" in queue.messages
    assert receive_ids(queue, T0 + 60, h) == ["m1"]


def test_delete_with_a_never_issued_receipt_handle_is_receipt_handle_is_invalid() -> None:
    queue, h = standard(), handles()
    queue.send("a", now=T0, message_id="m1")
    receive_one(queue, T0, h)

    error = error_of(lambda: queue.delete("made-up"))

    assert error.aws_type == "ReceiptHandleIsInvalid"
    assert "m1" in queue.messages


def test_receipt_handles_of_a_deleted_message_are_invalid_afterwards() -> None:
    queue, h = standard(), handles()
    queue.send("a", now=T0, message_id="m1")
    old = receive_one(queue, T0, h).message.receipt_handle
    new = receive_one(queue, T0 + 30, h).message.receipt_handle
    assert old is not None and new is not None
    queue.delete(new)

    assert error_of(lambda: queue.delete(new)).aws_type == "ReceiptHandleIsInvalid"
    assert error_of(lambda: queue.delete(old)).aws_type == "ReceiptHandleIsInvalid"


# --- change visibility ------------------------------------------------------------------


def test_change_message_visibility_hides_the_message_until_the_new_time() -> None:
    queue, h = standard(), handles()
    queue.send("a", now=T0, message_id="m1")
    handle = receive_one(queue, T0, h).message.receipt_handle
    assert handle is not None

    queue.change_visibility(handle, 60, now=T0 + 10)

    assert receive_ids(queue, T0 + 30, h) == []
    assert receive_ids(queue, T0 + 69.9, h) == []
    assert receive_ids(queue, T0 + 70, h) == ["m1"]


def test_change_message_visibility_can_shorten_the_timeout() -> None:
    queue, h = standard(), handles()
    queue.send("a", now=T0, message_id="m1")
    handle = receive_one(queue, T0, h, visibility_timeout=600).message.receipt_handle
    assert handle is not None

    queue.change_visibility(handle, 5, now=T0 + 1)

    assert receive_ids(queue, T0 + 6, h) == ["m1"]


def test_change_message_visibility_to_zero_makes_the_message_visible_at_once() -> None:
    queue, h = standard(), handles()
    queue.send("a", now=T0, message_id="m1")
    handle = receive_one(queue, T0, h).message.receipt_handle
    assert handle is not None

    queue.change_visibility(handle, 0, now=T0 + 1)

    assert queue.counts(T0 + 1)["ApproximateNumberOfMessages"] == "1"
    again = receive_one(queue, T0 + 1, h)
    assert again.message.receive_count == 2


def test_change_message_visibility_accepts_43200_seconds() -> None:
    queue, h = standard(), handles()
    queue.send("a", now=T0, message_id="m1")
    handle = receive_one(queue, T0, h).message.receipt_handle
    assert handle is not None

    queue.change_visibility(handle, 43_200, now=T0)

    assert receive_ids(queue, T0 + 43_199, h) == []


@pytest.mark.parametrize("timeout", [-1, 43_201])
def test_change_message_visibility_outside_0_to_43200_is_invalid_parameter_value(
    timeout: int,
) -> None:
    queue, h = standard(), handles()
    queue.send("a", now=T0, message_id="m1")
    handle = receive_one(queue, T0, h).message.receipt_handle
    assert handle is not None

    error = error_of(lambda: queue.change_visibility(handle, timeout, now=T0))

    assert error.aws_type == "InvalidParameterValue"
    assert queue.messages["m1"].visible_at == T0 + 30


def test_change_message_visibility_of_a_message_no_longer_in_flight_is_message_not_inflight():
    queue, h = standard(), handles()
    queue.send("a", now=T0, message_id="m1")
    handle = receive_one(queue, T0, h).message.receipt_handle
    assert handle is not None

    error = error_of(lambda: queue.change_visibility(handle, 60, now=T0 + 30))

    assert error.aws_type == "MessageNotInflight"


def test_change_message_visibility_with_an_older_handle_is_message_not_inflight() -> None:
    queue, h = standard(), handles()
    queue.send("a", now=T0, message_id="m1")
    old = receive_one(queue, T0, h).message.receipt_handle
    receive_one(queue, T0 + 30, h)
    assert old is not None

    error = error_of(lambda: queue.change_visibility(old, 0, now=T0 + 31))

    assert error.aws_type == "MessageNotInflight"
    assert receive_ids(queue, T0 + 31, h) == []  # still hidden under the newer handle


def test_change_message_visibility_with_a_never_issued_handle_is_receipt_handle_is_invalid():
    queue = standard()
    queue.send("a", now=T0, message_id="m1")

    error = error_of(lambda: queue.change_visibility("made-up", 10, now=T0))

    assert error.aws_type == "ReceiptHandleIsInvalid"


# --- redrive ----------------------------------------------------------------------------


def redrive_to(dead_letter_queue: str, max_receive_count: int) -> str:
    return (
        f'{{"deadLetterTargetArn": "{queue_arn(dead_letter_queue)}", '
        f'"maxReceiveCount": {max_receive_count}}}'
    )


def test_message_received_max_receive_count_times_moves_to_the_dead_letter_queue() -> None:
    source, h = standard(RedrivePolicy=redrive_to("orders-dlq", 2)), handles()
    source.send("a", now=T0, message_id="m1")
    first = receive_one(source, T0, h).message.receipt_handle
    second = receive_one(source, T0 + 30, h).message.receipt_handle

    received, moved = source.receive(now=T0 + 60, new_handle=h)

    assert received == []
    assert [m.message_id for m in moved] == ["m1"]
    assert source.messages == {}
    assert source.counts(T0 + 60)["ApproximateNumberOfMessagesNotVisible"] == "0"
    for handle in (first, second):
        assert handle is not None
        assert error_of(lambda h=handle: source.delete(h)).aws_type == "ReceiptHandleIsInvalid"


def test_redrive_moves_only_the_messages_that_reached_max_receive_count() -> None:
    source, h = standard(RedrivePolicy=redrive_to("orders-dlq", 1)), handles()
    source.send("old", now=T0, message_id="m1")
    receive_one(source, T0, h)
    source.send("new", now=T0 + 1, message_id="m2")

    received, moved = source.receive(now=T0 + 30, new_handle=h, max_messages=10)

    assert ids(received) == ["m2"]
    assert [m.message_id for m in moved] == ["m1"]


def test_dead_letter_queue_keeps_id_body_attributes_receive_count_and_sent_time() -> None:
    source, h = standard(RedrivePolicy=redrive_to("orders-dlq", 2)), handles()
    dlq = standard()
    source.send("a", now=T0, message_id="m1", attributes={"k": {"StringValue": "v"}})
    receive_one(source, T0 + 1, h)
    receive_one(source, T0 + 31, h)
    _, moved = source.receive(now=T0 + 61, new_handle=h)

    accepted = dlq.accept_moved(moved[0], now=T0 + 61)

    assert accepted.message_id == "m1"
    assert accepted.body == "a"
    assert accepted.attributes == {"k": {"StringValue": "v"}}
    assert accepted.receive_count == 2
    assert accepted.sent_at == T0
    assert accepted.receipt_handle is None
    assert dlq.counts(T0 + 61)["ApproximateNumberOfMessages"] == "1"
    answer = receive_one(dlq, T0 + 61, h).answer()
    assert answer["MessageId"] == "m1"
    assert answer["Attributes"]["SentTimestamp"] == str(int(T0 * 1000))
    assert answer["Attributes"]["ApproximateReceiveCount"] == "3"
    assert answer["Attributes"]["ApproximateFirstReceiveTimestamp"] == str(int((T0 + 1) * 1000))


def test_a_dead_letter_says_where_it_came_from_and_why() -> None:
    source, h = standard(RedrivePolicy=redrive_to("orders-dlq", 2)), handles()
    dlq = Queue("orders-dlq", attributes_from_request({}))
    source.send("a", now=T0, message_id="m1")
    receive_one(source, T0, h)
    receive_one(source, T0 + 30, h)
    _, [moved] = source.receive(now=T0 + 60, new_handle=h)

    dlq.accept_moved(moved, now=T0 + 60, source="orders")
    system = receive_one(dlq, T0 + 60, h).answer()["Attributes"]

    assert moved.last_error == "received 2 times and never deleted (maxReceiveCount 2)"
    assert system["DeadLetterQueueSourceArn"] == queue_arn("orders")
    assert system["DeadLetterReason"] == moved.last_error


def test_a_message_never_dead_lettered_has_no_dead_letter_attributes() -> None:
    queue, h = standard(), handles()
    queue.send("a", now=T0, message_id="m1")

    system = receive_one(queue, T0, h).answer()["Attributes"]

    assert "DeadLetterQueueSourceArn" not in system and "DeadLetterReason" not in system


def test_dead_letter_queue_retention_counts_from_the_original_send() -> None:
    dlq = standard(MessageRetentionPeriod="60")
    moved = Message("m1", "a", sent_at=T0, visible_at=T0, receive_count=3)

    dlq.accept_moved(moved, now=T0 + 50)

    assert [m.message_id for m in dlq.expire(T0 + 60)] == ["m1"]


# --- retention and counts ---------------------------------------------------------------


def test_message_older_than_the_retention_period_is_dropped_and_never_received() -> None:
    queue, h = standard(MessageRetentionPeriod="60"), handles()
    queue.send("a", now=T0, message_id="m1")
    queue.send("b", now=T0 + 30, message_id="m2")

    assert queue.expire(T0 + 59.9) == []
    assert [m.message_id for m in queue.expire(T0 + 60)] == ["m1"]
    assert receive_ids(queue, T0 + 60, h, max_messages=10) == ["m2"]


def test_receive_never_hands_out_a_message_past_its_retention() -> None:
    queue, h = standard(MessageRetentionPeriod="60"), handles()
    queue.send("a", now=T0, message_id="m1")

    assert receive_ids(queue, T0 + 61, h) == []
    assert queue.messages == {}


def test_retention_counts_from_the_original_send_not_from_the_last_receive() -> None:
    queue, h = standard(MessageRetentionPeriod="60", VisibilityTimeout="10"), handles()
    queue.send("a", now=T0, message_id="m1")
    receive_one(queue, T0 + 50, h)

    assert receive_ids(queue, T0 + 60, h) == []
    assert queue.messages == {}


def test_counts_report_visible_in_flight_delayed_and_age_of_oldest_message() -> None:
    queue, h = standard(), handles()
    queue.send("in flight", now=T0, message_id="m1")
    queue.send("visible", now=T0 + 1, message_id="m2")
    queue.send("visible too", now=T0 + 2, message_id="m3")
    queue.send("delayed", now=T0 + 3, message_id="m4", delay_seconds=100)
    assert receive_ids(queue, T0 + 4, h) == ["m1"]

    assert queue.counts(T0 + 10.7) == {
        "ApproximateNumberOfMessages": "2",
        "ApproximateNumberOfMessagesNotVisible": "1",
        "ApproximateNumberOfMessagesDelayed": "1",
        "ApproximateAgeOfOldestMessage": "10",
    }


def test_counts_of_an_empty_queue_are_zero() -> None:
    counts = standard().counts(T0)

    assert counts["ApproximateNumberOfMessages"] == "0"
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "0"
    assert counts["ApproximateNumberOfMessagesDelayed"] == "0"


# --- FIFO -------------------------------------------------------------------------------


@pytest.mark.parametrize("group", [None, ""])
def test_fifo_send_without_message_group_id_is_missing_parameter(group: str | None) -> None:
    queue = fifo(ContentBasedDeduplication="true")

    error = error_of(lambda: queue.send("a", now=T0, message_id="m1", group_id=group))

    assert error.aws_type == "MissingParameter"
    assert "MessageGroupId" in error.message
    assert queue.messages == {}


def test_fifo_send_without_deduplication_id_or_content_based_deduplication_is_refused() -> None:
    queue = fifo()

    error = error_of(lambda: queue.send("a", now=T0, message_id="m1", group_id="g"))

    assert error.aws_type == "InvalidParameterValue"
    assert queue.messages == {}


def test_content_based_deduplication_uses_the_bodys_sha256() -> None:
    queue = fifo(ContentBasedDeduplication="true")

    first = queue.send("same", now=T0, message_id="m1", group_id="g")
    again = queue.send("same", now=T0 + 10, message_id="m2", group_id="g")
    other = queue.send("different", now=T0 + 10, message_id="m3", group_id="g")

    assert first.deduplication_id == hashlib.sha256(b"same").hexdigest()
    assert again.message_id == "m1"
    assert other.message_id == "m3"
    assert sorted(queue.messages) == ["m1", "m3"]


def test_explicit_deduplication_id_overrides_content_based_deduplication() -> None:
    queue = fifo(ContentBasedDeduplication="true")

    queue.send("same", now=T0, message_id="m1", group_id="g", deduplication_id="d1")
    queue.send("same", now=T0, message_id="m2", group_id="g", deduplication_id="d2")

    assert sorted(queue.messages) == ["m1", "m2"]


def test_same_deduplication_id_within_5_minutes_answers_the_first_id_and_enqueues_nothing():
    queue, h = fifo(), handles()
    queue.send("a", now=T0, message_id="m1", group_id="g", deduplication_id="d")

    again = queue.send("b", now=T0 + 299, message_id="m2", group_id="g", deduplication_id="d")

    assert again.message_id == "m1"
    assert list(queue.messages) == ["m1"]
    assert receive_ids(queue, T0 + 299, h, max_messages=10) == ["m1"]


def test_same_deduplication_id_after_5_minutes_enqueues_again() -> None:
    queue = fifo()
    queue.send("a", now=T0, message_id="m1", group_id="g", deduplication_id="d")

    again = queue.send("a", now=T0 + 301, message_id="m2", group_id="g", deduplication_id="d")

    assert again.message_id == "m2"
    assert sorted(queue.messages) == ["m1", "m2"]


def test_deduplication_holds_even_after_the_first_message_was_deleted() -> None:
    queue, h = fifo(), handles()
    queue.send("a", now=T0, message_id="m1", group_id="g", deduplication_id="d")
    handle = receive_one(queue, T0, h).message.receipt_handle
    assert handle is not None
    queue.delete(handle)

    again = queue.send("a", now=T0 + 10, message_id="m2", group_id="g", deduplication_id="d")

    assert again.message_id == "m1"
    assert queue.messages == {}


def test_fifo_queue_hands_out_a_groups_messages_in_send_order() -> None:
    queue, h = fifo(ContentBasedDeduplication="true"), handles()
    for n in range(5):
        queue.send(f"body {n}", now=T0 + n, message_id=f"m{n}", group_id="g")

    seen = []
    for step in range(5):
        received = receive_one(queue, T0 + 10 + step, h)
        seen.append(received.message.message_id)
        assert received.message.receipt_handle is not None
        queue.delete(received.message.receipt_handle)

    assert seen == ["m0", "m1", "m2", "m3", "m4"]


def test_fifo_batch_receive_keeps_group_order() -> None:
    queue, h = fifo(ContentBasedDeduplication="true"), handles()
    queue.send("a1", now=T0, message_id="a1", group_id="a")
    queue.send("b1", now=T0, message_id="b1", group_id="b")
    queue.send("a2", now=T0, message_id="a2", group_id="a")
    queue.send("b2", now=T0, message_id="b2", group_id="b")

    got = receive_ids(queue, T0, h, max_messages=10)

    assert [m for m in got if m.startswith("a")] == ["a1", "a2"]
    assert [m for m in got if m.startswith("b")] == ["b1", "b2"]


def test_fifo_group_with_a_message_in_flight_gives_out_nothing_other_groups_do() -> None:
    queue, h = fifo(ContentBasedDeduplication="true"), handles()
    queue.send("a1", now=T0, message_id="a1", group_id="a")
    queue.send("a2", now=T0, message_id="a2", group_id="a")
    queue.send("b1", now=T0, message_id="b1", group_id="b")

    first = receive_one(queue, T0, h)
    assert first.message.message_id == "a1"
    assert receive_ids(queue, T0 + 1, h, max_messages=10) == ["b1"]
    assert receive_ids(queue, T0 + 2, h, max_messages=10) == []

    assert first.message.receipt_handle is not None
    queue.delete(first.message.receipt_handle)
    assert receive_ids(queue, T0 + 3, h, max_messages=10) == ["a2"]


def test_fifo_message_back_from_its_visibility_timeout_comes_before_the_rest_of_its_group():
    queue, h = fifo(ContentBasedDeduplication="true"), handles()
    queue.send("a1", now=T0, message_id="a1", group_id="a")
    queue.send("a2", now=T0, message_id="a2", group_id="a")
    receive_one(queue, T0, h)

    again = receive_one(queue, T0 + 30, h)

    assert again.message.message_id == "a1"
    assert again.message.receive_count == 2


def test_fifo_receive_answer_carries_group_id_sequence_number_and_deduplication_id() -> None:
    queue, h = fifo(), handles()
    queue.send("a", now=T0, message_id="m1", group_id="g", deduplication_id="d")

    attributes = receive_one(queue, T0, h).answer()["Attributes"]

    assert attributes["MessageGroupId"] == "g"
    assert attributes["MessageDeduplicationId"] == "d"
    assert attributes["SequenceNumber"].isdigit()


@pytest.mark.parametrize(
    "ids_given", [{"group_id": "g"}, {"deduplication_id": "d"}, {"group_id": ""}]
)
def test_standard_queue_refuses_message_group_id_and_deduplication_id(
    ids_given: dict[str, str],
) -> None:
    queue = standard()

    error = error_of(lambda: queue.send("a", now=T0, message_id="m1", **ids_given))

    assert error.aws_type == "InvalidParameterValue"
    assert queue.messages == {}


# --- property: random operations on a standard queue ------------------------------------


@dataclass
class Expected:
    """What SQS's documentation lets us expect of one message."""

    visible_at: float
    receive_count: int = 0
    handle: str | None = None
    handles: list[str] = field(default_factory=list)


class StandardQueueMachine(RuleBasedStateMachine):
    """Random send / receive / delete / change visibility / time passing, checked as SQS says."""

    def __init__(self) -> None:
        super().__init__()
        self.queue = standard()
        self.new_handle = handles()
        self.now = T0
        self.sent = 0
        self.live: dict[str, Expected] = {}
        self.deleted: set[str] = set()
        self.issued: list[str] = []
        self.counts_seen: dict[str, int] = {}

    @rule(delay=st.none() | st.integers(0, 120))
    def send(self, delay: int | None) -> None:
        self.sent += 1
        message_id = f"m{self.sent}"
        self.queue.send(
            f"body {self.sent}", now=self.now, message_id=message_id, delay_seconds=delay
        )
        self.live[message_id] = Expected(self.now + (0 if delay is None else delay))

    @rule(most=st.integers(1, 10), timeout=st.none() | st.integers(0, 90))
    def receive(self, most: int, timeout: int | None) -> None:
        received, moved = self.queue.receive(
            now=self.now, new_handle=self.new_handle, max_messages=most, visibility_timeout=timeout
        )
        assert moved == []
        assert len(received) <= most
        assert len(set(ids(received))) == len(received)
        for r in received:
            message = r.message
            assert message.message_id not in self.deleted, "a deleted message came back"
            expected = self.live[message.message_id]
            assert expected.visible_at <= self.now, "handed out while invisible"
            assert message.receive_count == expected.receive_count + 1
            assert message.receipt_handle not in expected.handles, "receipt handle reused"
            assert message.receipt_handle is not None
            expected.receive_count += 1
            expected.handle = message.receipt_handle
            expected.handles.append(message.receipt_handle)
            expected.visible_at = self.now + (30 if timeout is None else timeout)
            self.issued.append(message.receipt_handle)

    @precondition(lambda self: self.issued)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        handle = data.draw(st.sampled_from(self.issued))
        owner = next((i for i, e in self.live.items() if handle in e.handles), None)
        if owner is None:  # its message was deleted
            assert error_of(lambda: self.queue.delete(handle)).aws_type == (
                "ReceiptHandleIsInvalid"
            )
            return
        self.queue.delete(handle)
        if self.live[owner].handle == handle:
            del self.live[owner]
            self.deleted.add(owner)
            assert owner not in self.queue.messages
        else:
            assert owner in self.queue.messages

    @precondition(lambda self: self.issued)
    @rule(data=st.data(), timeout=st.integers(0, 90))
    def change_visibility(self, data: st.DataObject, timeout: int) -> None:
        handle = data.draw(st.sampled_from(self.issued))
        owner = next((i for i, e in self.live.items() if handle in e.handles), None)
        call = lambda: self.queue.change_visibility(handle, timeout, now=self.now)  # noqa: E731
        if owner is None:
            assert error_of(call).aws_type == "ReceiptHandleIsInvalid"
            return
        expected = self.live[owner]
        if expected.handle != handle or expected.visible_at <= self.now:
            assert error_of(call).aws_type == "MessageNotInflight"
            return
        call()
        expected.visible_at = self.now + timeout

    @rule(seconds=st.floats(0, 150, allow_nan=False))
    def advance(self, seconds: float) -> None:
        self.now += seconds

    @invariant()
    def receive_counts_only_grow(self) -> None:
        for message_id, message in self.queue.messages.items():
            assert message.receive_count >= self.counts_seen.get(message_id, 0)
            self.counts_seen[message_id] = message.receive_count

    @invariant()
    def deleted_messages_stay_deleted(self) -> None:
        assert self.deleted.isdisjoint(self.queue.messages)
        assert set(self.queue.messages) == set(self.live)

    @invariant()
    def each_message_is_exactly_one_of_visible_in_flight_delayed(self) -> None:
        visible = in_flight = delayed = 0
        for message_id, message in self.queue.messages.items():
            expected = self.live[message_id]
            assert message.receive_count == expected.receive_count
            states = [
                expected.visible_at <= self.now,
                expected.receive_count > 0 and expected.visible_at > self.now,
                expected.receive_count == 0 and expected.visible_at > self.now,
            ]
            assert sum(states) == 1
            visible += states[0]
            in_flight += states[1]
            delayed += states[2]
        counts = self.queue.counts(self.now)
        assert counts["ApproximateNumberOfMessages"] == str(visible)
        assert counts["ApproximateNumberOfMessagesNotVisible"] == str(in_flight)
        assert counts["ApproximateNumberOfMessagesDelayed"] == str(delayed)


StandardQueueMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None
)
test_random_operations_keep_sqs_guarantees_on_a_standard_queue = StandardQueueMachine.TestCase


def test_a_stored_message_comes_back_with_every_field() -> None:
    message = Message(
        "m1",
        "a",
        sent_at=T0,
        visible_at=T0 + 30,
        attributes={"k": {"DataType": "String", "StringValue": "v"}},
        receive_count=3,
        receipt_handle="h3",
        first_received_at=T0 + 1,
        group_id="o-1",
        deduplication_id="d-1",
        sequence=7,
        moved_from="orders",
        last_error="received 3 times and never deleted (maxReceiveCount 3)",
    )

    assert message_from_json(message_to_json(message)) == message
