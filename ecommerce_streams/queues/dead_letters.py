"""The dead letters of the queues, shown by the ``dlq`` commands beside those of the topics.

A queue's dead letters are the messages of its dead-letter queue: moved there past the
source queue's ``maxReceiveCount`` with the reason (``last_error``), or sent there
directly. A letter is named ``<queue>/<message id>``; ``dlq redrive --queue`` moves a
dead-letter queue's letters back with a message move task, as the queue server runs it.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ecommerce_streams.operations.dead_letter_queue import ERROR_CHARS, PREVIEW_CHARS
from models.queues.queue import Message, Queue


@dataclass(frozen=True)
class QueueLetter:
    """A message in a dead-letter queue."""

    queue: str
    message: Message

    @property
    def id(self) -> str:
        """``<queue>/<message id>``."""
        return f"{self.queue}/{self.message.message_id}"

    def summary(self) -> str:
        """One line: id, where it came from, receives, why, the start of the body."""
        message = self.message
        origin = message.moved_from or "(sent here)"
        reason = (message.last_error or "")[:ERROR_CHARS]
        preview = message.body[:PREVIEW_CHARS]
        return f"{self.id}  from {origin}  received {message.receive_count}  {reason}  {preview!r}"

    def details(self) -> str:
        """Every field of the letter, the body pretty-printed when it is JSON."""
        message = self.message
        lines = [
            f"letter:       {self.id}",
            f"from queue:   {message.moved_from or '(sent here)'}",
            f"error:        {message.last_error}",
            f"receives:     {message.receive_count}",
            f"sent at:      {datetime.fromtimestamp(message.sent_at, UTC).isoformat()}",
        ]
        if message.group_id is not None:
            lines.append(f"group:        {message.group_id}")
        if message.attributes:
            lines.append(f"attributes:   {json.dumps(dict(message.attributes))}")
        lines += ["body:", _readable(message.body)]
        return "\n".join(lines)


def _readable(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except json.JSONDecodeError:
        return body


def dead_letter_queues(queues: Mapping[str, Queue]) -> list[str]:
    """The queues some queue's redrive policy names, and those holding moved messages."""
    named = {
        queue.attributes.redrive.dead_letter_queue
        for queue in queues.values()
        if queue.attributes.redrive is not None
    }
    holding = {
        name
        for name, queue in queues.items()
        if any(m.moved_from is not None for m in queue.messages.values())
    }
    return sorted(name for name in named | holding if name in queues)


def queue_letters(queues: Mapping[str, Queue]) -> list[QueueLetter]:
    """Every message of every dead-letter queue, oldest first within each queue."""
    return [
        QueueLetter(name, message)
        for name in dead_letter_queues(queues)
        for message in sorted(queues[name].messages.values(), key=lambda m: m.sent_at)
    ]


def find_queue_letter(letters: Sequence[QueueLetter], wanted: str) -> QueueLetter:
    """The letter named ``<queue>/<message id>``; LookupError naming what exists."""
    for letter in letters:
        if letter.id == wanted:
            return letter
    queues = sorted({letter.queue for letter in letters})
    raise LookupError(
        f"no dead letter {wanted} in the dead-letter queues ({', '.join(queues) or 'none'})"
    )
