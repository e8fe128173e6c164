"""One queue's messages and SQS's observable semantics, as pure decisions over given time.

- **send**: a message is visible after its delay (the queue's ``DelaySeconds`` unless the
  send gives one; a FIFO queue takes only the queue's). A FIFO send needs a
  ``MessageGroupId`` and a deduplication id (given, or the body's SHA-256 with
  ``ContentBasedDeduplication``); the same deduplication id within 5 minutes answers
  the first message's id and enqueues nothing.
- **receive**: up to ``MaxNumberOfMessages`` (1..10) visible messages, each hidden for
  the visibility timeout (the queue's, or the receive's) under a new receipt handle,
  its receive count one higher. A FIFO queue hands out a group's messages in order and
  none of a group while one of it is in flight. A message whose receive count has
  reached the redrive policy's ``maxReceiveCount`` moves to the dead-letter queue at
  the next receive instead (same id, body, attributes, receive count and sent time).
- **delete**: with the latest receipt handle the message is gone for good; an older
  handle of it succeeds and deletes nothing (as SQS documents); a handle never issued is
  ``ReceiptHandleIsInvalid``.
- **change visibility**: 0..43200 s from now for a message in flight (0 releases it).
- **retention**: a message older than ``MessageRetentionPeriod`` from its original send
  is dropped.

Nothing reads a clock or makes ids: ``now`` and the id source come in, so a replay of the
same operations gives the same queue.
"""

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from models.queues.attributes import MAX_BODY_BYTES, QueueAttributes, queue_arn
from models.routing.checks import AwsError

DEDUPLICATION_SECONDS = 300.0
MAX_RECEIVE_BATCH = 10
MAX_VISIBILITY_SECONDS = 43_200
MAX_DELAY_SECONDS = 900


@dataclass(frozen=True)
class Message:
    """A message in a queue, with its delivery state."""

    message_id: str
    body: str
    sent_at: float
    visible_at: float
    attributes: Mapping[str, Any] = field(default_factory=dict)
    receive_count: int = 0
    receipt_handle: str | None = None
    first_received_at: float | None = None
    group_id: str | None = None
    deduplication_id: str | None = None
    sequence: int = 0
    moved_from: str | None = None
    """The queue a dead letter was moved from (its redrive goes back there by default)."""
    last_error: str | None = None
    """Why it became a dead letter (kept when it is moved on, cleared by nothing)."""

    def in_flight(self, now: float) -> bool:
        """Received and hidden now."""
        return self.receive_count > 0 and self.visible_at > now

    @property
    def md5_of_body(self) -> str:
        """SQS's ``MD5OfMessageBody``."""
        return hashlib.md5(self.body.encode(), usedforsecurity=False).hexdigest()


def message_to_json(message: Message) -> dict[str, Any]:
    """A message as stored: every field."""
    return {
        "id": message.message_id,
        "body": message.body,
        "sent_at": message.sent_at,
        "visible_at": message.visible_at,
        "attributes": dict(message.attributes),
        "receive_count": message.receive_count,
        "receipt_handle": message.receipt_handle,
        "first_received_at": message.first_received_at,
        "group_id": message.group_id,
        "deduplication_id": message.deduplication_id,
        "sequence": message.sequence,
        "moved_from": message.moved_from,
        "last_error": message.last_error,
    }


def message_from_json(document: Mapping[str, Any]) -> Message:
    """A stored message back."""
    return Message(
        document["id"],
        document["body"],
        sent_at=document["sent_at"],
        visible_at=document["visible_at"],
        attributes=document.get("attributes") or {},
        receive_count=document["receive_count"],
        receipt_handle=document.get("receipt_handle"),
        first_received_at=document.get("first_received_at"),
        group_id=document.get("group_id"),
        deduplication_id=document.get("deduplication_id"),
        sequence=document["sequence"],
        moved_from=document.get("moved_from"),
        last_error=document.get("last_error"),
    )


@dataclass(frozen=True)
class Received:
    """One message as ReceiveMessage hands it out."""

    message: Message

    def answer(self) -> dict[str, Any]:
        """The message as SQS's ReceiveMessage answers it."""
        message = self.message
        system = {
            "ApproximateReceiveCount": str(message.receive_count),
            "SentTimestamp": str(round(message.sent_at * 1000)),
            "ApproximateFirstReceiveTimestamp": str(round((message.first_received_at or 0) * 1000)),
        }
        if message.moved_from is not None:
            system["DeadLetterQueueSourceArn"] = queue_arn(message.moved_from)
        if message.last_error is not None:
            system["DeadLetterReason"] = message.last_error
        if message.group_id is not None:
            system["MessageGroupId"] = message.group_id
            system["SequenceNumber"] = str(message.sequence)
            if message.deduplication_id is not None:
                system["MessageDeduplicationId"] = message.deduplication_id
        answer: dict[str, Any] = {
            "MessageId": message.message_id,
            "ReceiptHandle": message.receipt_handle,
            "MD5OfBody": message.md5_of_body,
            "Body": message.body,
            "Attributes": system,
        }
        if message.attributes:
            answer["MessageAttributes"] = dict(message.attributes)
        return answer


def _invalid_parameter(message: str) -> AwsError:
    return AwsError("InvalidParameterValue", message)


class Queue:
    """One queue: its attributes and messages."""

    def __init__(
        self,
        name: str,
        attributes: QueueAttributes,
        messages: Iterable[Message] = (),
        deduplicated: Mapping[str, tuple[str, float]] | None = None,
    ) -> None:
        self.name = name
        self.attributes = attributes
        self.messages: dict[str, Message] = {}
        self._handles: dict[str, str] = {}
        self._deduplicated: dict[str, tuple[str, float]] = dict(deduplicated or {})
        self._sequence = 0
        for message in sorted(messages, key=lambda m: m.sequence):
            self.messages[message.message_id] = message
            if message.receipt_handle is not None:
                self._handles[message.receipt_handle] = message.message_id
            self._sequence = max(self._sequence, message.sequence)

    def copy(self) -> "Queue":
        """An independent copy (messages are immutable, so the maps are all that is copied)."""
        clone = Queue(self.name, self.attributes)
        clone.messages = dict(self.messages)
        clone._handles = dict(self._handles)
        clone._deduplicated = dict(self._deduplicated)
        clone._sequence = self._sequence
        return clone

    def number_after(self, sequence: int) -> None:
        """Number the messages to come after ``sequence`` (a move task's cutoff, say)."""
        self._sequence = max(self._sequence, sequence)

    @property
    def deduplicated(self) -> Mapping[str, tuple[str, float]]:
        """Deduplication ids seen in the last 5 minutes: the message id and when."""
        return self._deduplicated

    def send(
        self,
        body: str,
        *,
        now: float,
        message_id: str,
        delay_seconds: int | None = None,
        attributes: Mapping[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
    ) -> Message:
        """SendMessage: the message enqueued, or the earlier one its deduplication id names."""
        size = len(body.encode())
        if not body or size > min(self.attributes.maximum_message_size, MAX_BODY_BYTES):
            raise _invalid_parameter(
                f"One or more parameters are invalid. Reason: Message must be shorter than "
                f"{self.attributes.maximum_message_size} bytes and not empty."
            )
        delay = self._delay(delay_seconds)
        if self.attributes.fifo:
            group_id, deduplication_id = self._fifo_ids(body, group_id, deduplication_id)
            self._forget_deduplications(now)
            earlier = self._deduplicated.get(deduplication_id)
            if earlier is not None:
                return self.messages.get(earlier[0]) or Message(earlier[0], body, now, now)
        elif group_id is not None or deduplication_id is not None:
            raise _invalid_parameter(
                "The request include parameter that is not valid for this queue type"
            )
        self._sequence += 1
        message = Message(
            message_id,
            body,
            sent_at=now,
            visible_at=now + delay,
            attributes=dict(attributes or {}),
            group_id=group_id,
            deduplication_id=deduplication_id,
            sequence=self._sequence,
        )
        self.messages[message_id] = message
        if deduplication_id is not None:
            self._deduplicated[deduplication_id] = (message_id, now)
        return message

    def _delay(self, delay_seconds: int | None) -> int:
        if delay_seconds is None:
            return self.attributes.delay_seconds
        if self.attributes.fifo:
            raise _invalid_parameter(
                "Value for parameter DelaySeconds is invalid. Reason: The request include "
                "parameter that is not valid for this queue type."
            )
        if not 0 <= delay_seconds <= MAX_DELAY_SECONDS:
            raise _invalid_parameter(
                f"Value {delay_seconds} for parameter DelaySeconds is invalid. Reason: must be "
                f"between 0 and {MAX_DELAY_SECONDS}."
            )
        return delay_seconds

    def _fifo_ids(
        self, body: str, group_id: str | None, deduplication_id: str | None
    ) -> tuple[str, str]:
        if not group_id:
            raise AwsError(
                "MissingParameter", "The request must contain the parameter MessageGroupId."
            )
        if deduplication_id:
            return group_id, deduplication_id
        if not self.attributes.content_based_deduplication:
            raise _invalid_parameter(
                "The queue should either have ContentBasedDeduplication enabled or "
                "MessageDeduplicationId provided explicitly"
            )
        return group_id, hashlib.sha256(body.encode()).hexdigest()

    def _forget_deduplications(self, now: float) -> None:
        expired = [
            key for key, (_, at) in self._deduplicated.items() if now - at >= DEDUPLICATION_SECONDS
        ]
        for key in expired:
            del self._deduplicated[key]

    def receive(
        self,
        *,
        now: float,
        new_handle: Callable[[], str],
        max_messages: int = 1,
        visibility_timeout: int | None = None,
    ) -> tuple[list[Received], list[Message]]:
        """ReceiveMessage: the messages handed out, and those to move to the dead-letter queue."""
        if not 1 <= max_messages <= MAX_RECEIVE_BATCH:
            raise _invalid_parameter(
                f"Value {max_messages} for parameter MaxNumberOfMessages is invalid. Reason: "
                f"Must be between 1 and {MAX_RECEIVE_BATCH}, if provided."
            )
        hidden_for = self._visibility(visibility_timeout)
        self.expire(now)
        received: list[Received] = []
        moved: list[Message] = []
        for message in self._candidates(now):
            if len(received) == max_messages:
                break
            redrive = self.attributes.redrive
            if redrive is not None and message.receive_count >= redrive.max_receive_count:
                reason = (
                    f"received {message.receive_count} times and never deleted "
                    f"(maxReceiveCount {redrive.max_receive_count})"
                )
                moved.append(replace(self._remove(message.message_id), last_error=reason))
                continue
            handle = new_handle()
            taken = replace(
                message,
                receive_count=message.receive_count + 1,
                receipt_handle=handle,
                visible_at=now + hidden_for,
                first_received_at=(
                    message.first_received_at if message.first_received_at is not None else now
                ),
            )
            self.messages[message.message_id] = taken
            self._handles[handle] = message.message_id
            received.append(Received(taken))
        return received, moved

    def _visibility(self, timeout: int | None) -> int:
        if timeout is None:
            return self.attributes.visibility_timeout
        if not 0 <= timeout <= MAX_VISIBILITY_SECONDS:
            raise _invalid_parameter(
                f"Value {timeout} for parameter VisibilityTimeout is invalid. Reason: must be "
                f"between 0 and {MAX_VISIBILITY_SECONDS}."
            )
        return timeout

    def _candidates(self, now: float) -> Iterable[Message]:
        """Visible messages in the order they may be handed out."""
        visible = [m for m in self.messages.values() if m.visible_at <= now]
        if not self.attributes.fifo:
            return sorted(visible, key=lambda m: m.sequence)
        busy = {m.group_id for m in self.messages.values() if m.in_flight(now)}
        ordered = sorted(self.messages.values(), key=lambda m: m.sequence)
        heads: list[Message] = []
        blocked: set[str | None] = set(busy)
        for message in ordered:
            if message.group_id in blocked:
                continue
            if message.visible_at > now:  # delayed: the rest of its group waits behind it
                blocked.add(message.group_id)
                continue
            heads.append(message)
        return heads

    def _owner(self, receipt_handle: str) -> str:
        """The id of the message a receipt handle was issued for, or ReceiptHandleIsInvalid."""
        message_id = self._handles.get(receipt_handle)
        if message_id is None:
            raise AwsError(
                "ReceiptHandleIsInvalid",
                f'The input receipt handle "{receipt_handle}" is not a valid receipt handle.',
            )
        return message_id

    def delete(self, receipt_handle: str) -> None:
        """DeleteMessage with a receipt handle (an older one of a message deletes nothing)."""
        message_id = self._owner(receipt_handle)
        message = self.messages.get(message_id)
        if message is not None and message.receipt_handle == receipt_handle:
            self._remove(message_id)

    def change_visibility(self, receipt_handle: str, timeout: int, *, now: float) -> None:
        """ChangeMessageVisibility: hide the message ``timeout`` more seconds from now."""
        hidden_for = self._visibility(timeout)
        message_id = self._owner(receipt_handle)
        message = self.messages.get(message_id)
        if (
            message is None
            or message.receipt_handle != receipt_handle
            or not message.in_flight(now)
        ):
            raise AwsError(
                "MessageNotInflight",
                f"Value {receipt_handle} for parameter ReceiptHandle is invalid. Reason: "
                "Message does not exist or is not available for visibility timeout change.",
            )
        self.messages[message_id] = replace(message, visible_at=now + hidden_for)

    def accept_moved(self, message: Message, *, now: float, source: str | None = None) -> Message:
        """Take a message moved from queue ``source``, unchanged but for its handle: visible now."""
        self._sequence += 1
        moved = replace(
            message,
            receipt_handle=None,
            visible_at=now,
            sequence=self._sequence,
            moved_from=source or message.moved_from,
        )
        self.messages[moved.message_id] = moved
        return moved

    def take(self, message_id: str) -> Message:
        """Remove a message (a redrive moves it elsewhere); KeyError if it is not here."""
        return self._remove(message_id)

    def expire(self, now: float) -> list[Message]:
        """Drop the messages older than the retention period; those dropped."""
        retention = self.attributes.retention_seconds
        old = [m.message_id for m in self.messages.values() if now - m.sent_at >= retention]
        return [self._remove(message_id) for message_id in old]

    def _remove(self, message_id: str) -> Message:
        message = self.messages.pop(message_id)
        for handle in [h for h, owner in self._handles.items() if owner == message_id]:
            del self._handles[handle]
        return message

    def counts(self, now: float) -> dict[str, str]:
        """The approximate counts of GetQueueAttributes (after the retention drops)."""
        self.expire(now)
        visible = sum(1 for m in self.messages.values() if m.visible_at <= now)
        in_flight = sum(1 for m in self.messages.values() if m.in_flight(now))
        delayed = len(self.messages) - visible - in_flight
        oldest = min((m.sent_at for m in self.messages.values()), default=None)
        answer = {
            "ApproximateNumberOfMessages": str(visible),
            "ApproximateNumberOfMessagesNotVisible": str(in_flight),
            "ApproximateNumberOfMessagesDelayed": str(delayed),
        }
        if oldest is not None:
            answer["ApproximateAgeOfOldestMessage"] = str(int(now - oldest))
        return answer
