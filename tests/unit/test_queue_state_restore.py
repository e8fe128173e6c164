"""Queues rebuilt from the queue-state topic's records number new messages as before."""

from ecommerce_streams.queues.store import queues_from
from models.queues.queue import Message, message_to_json

T0 = 1_700_000_000.0


def stored_message(message_id: str, sequence: int) -> object:
    return message_to_json(Message(message_id, "body", T0, T0, sequence=sequence))


def test_a_message_sent_after_a_restore_is_numbered_past_a_move_tasks_cutoff() -> None:
    # The task started when dead letter 5 was the newest; 5 was moved (deleted) since,
    # so the restored messages alone would number the next one 5 again.
    state = {
        "q/orders-dlq": {},
        "m/orders-dlq/a": stored_message("a", 4),
        "t/task-1": {"source": "orders-dlq", "up_to": 5},
    }

    queue = queues_from(state)["orders-dlq"]
    sent = queue.send("new", now=T0, message_id="b")

    assert sent.sequence == 6  # not covered by the task, which moves up to 5


def test_a_restored_queue_without_tasks_numbers_after_its_newest_message() -> None:
    state = {"q/orders": {}, "m/orders/a": stored_message("a", 7)}

    assert queues_from(state)["orders"].send("new", now=T0, message_id="b").sequence == 8
