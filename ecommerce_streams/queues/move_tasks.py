"""Redrive: move tasks that send a dead-letter queue's messages back, as SQS's StartMessageMoveTask.

A task takes the messages in the dead-letter queue when it starts and moves them one at
a time, at most ``MaxNumberOfMessagesPerSecond`` (1..500, default 500), to the
destination queue, or to the queue each came from when none is named. Each move is one
transaction of the store: the message leaves the dead-letter queue and enters the
destination as a new message (a new id, receive count 0), never both, never neither.
One task per source at a time; a task can be cancelled, and reports how many it moved of
how many. Tasks live in the server: one interrupted by a restart stops, and what it
moved stays moved.
"""

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ecommerce_streams.queues.store import QueueStore
from models.queues.attributes import queue_arn
from models.routing.checks import AwsError

MAX_RATE = 500


class TaskStatus(StrEnum):
    """Where a move task stands."""

    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    CANCELLING = "CANCELLING"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"


@dataclass
class MoveTask:
    """One redrive of a dead-letter queue."""

    handle: str
    source: str
    destination: str | None
    rate: int
    to_move: int
    started_at: float
    moved: int = 0
    status: TaskStatus = TaskStatus.RUNNING
    failure: str | None = None
    runner: asyncio.Task[None] | None = field(default=None, repr=False)

    def describe(self) -> dict[str, Any]:
        """The task as ListMessageMoveTasks answers it."""
        answer: dict[str, Any] = {
            "TaskHandle": self.handle,
            "Status": self.status.value,
            "SourceArn": queue_arn(self.source),
            "MaxNumberOfMessagesPerSecond": self.rate,
            "ApproximateNumberOfMessagesMoved": self.moved,
            "ApproximateNumberOfMessagesToMove": self.to_move,
            "StartedTimestamp": int(self.started_at * 1000),
        }
        if self.destination is not None:
            answer["DestinationArn"] = queue_arn(self.destination)
        if self.failure is not None:
            answer["FailureReason"] = self.failure
        return answer


def _queue_of(arn: object, parameter: str) -> str:
    if not isinstance(arn, str) or not arn.startswith("arn:aws:sqs:"):
        raise AwsError("InvalidParameterValue", f"{parameter} must be an SQS queue ARN.")
    return arn.rsplit(":", 1)[-1]


class MoveTasks:
    """The move tasks of one store."""

    def __init__(self, store: QueueStore) -> None:
        self.store = store
        self.tasks: dict[str, MoveTask] = {}

    def start(self, source_arn: object, destination_arn: object = None, rate: object = None) -> str:
        """StartMessageMoveTask: the new task's handle."""
        source = _queue_of(source_arn, "SourceArn")
        destination = (
            None if destination_arn is None else _queue_of(destination_arn, "DestinationArn")
        )
        if rate is None:
            rate = MAX_RATE
        if isinstance(rate, bool) or not isinstance(rate, int) or not 1 <= rate <= MAX_RATE:
            raise AwsError(
                "InvalidParameterValue", f"MaxNumberOfMessagesPerSecond must be 1 to {MAX_RATE}."
            )
        for queue in (source, destination):
            if queue is not None and queue not in self.store.queues:
                raise AwsError("ResourceNotFoundException", f"The queue {queue} does not exist.")
        if any(t.source == source and t.status is TaskStatus.RUNNING for t in self.tasks.values()):
            raise AwsError(
                "UnsupportedOperation", f"A message move task is already running for {source}."
            )
        ids = list(self.store.queues[source].messages)
        task = MoveTask(str(uuid.uuid4()), source, destination, rate, len(ids), time.time())
        task.runner = asyncio.create_task(self._run(task, ids), name=f"move {source}")
        self.tasks[task.handle] = task
        return task.handle

    async def _run(self, task: MoveTask, ids: list[str]) -> None:
        try:
            for message_id in ids:
                if task.status is TaskStatus.CANCELLING:
                    task.status = TaskStatus.CANCELLED
                    return
                if await self.store.redrive(task.source, message_id, task.destination):
                    task.moved += 1
                await asyncio.sleep(1 / task.rate)
            task.status = TaskStatus.COMPLETED
        except AwsError as failed:
            task.status, task.failure = TaskStatus.FAILED, failed.message
        except Exception as failed:  # the store could not write: the task stops here
            task.status, task.failure = TaskStatus.FAILED, repr(failed)

    def cancel(self, handle: object) -> int:
        """CancelMessageMoveTask: how many it had moved."""
        task = self.tasks.get(handle) if isinstance(handle, str) else None
        if task is None:
            raise AwsError("ResourceNotFoundException", "The task handle does not exist.")
        if task.status is not TaskStatus.RUNNING:
            raise AwsError("UnsupportedOperation", f"The task is {task.status.value}.")
        task.status = TaskStatus.CANCELLING
        return task.moved

    def list(self, source_arn: object) -> list[dict[str, Any]]:
        """ListMessageMoveTasks of one source, the newest first."""
        source = _queue_of(source_arn, "SourceArn")
        mine = [t for t in self.tasks.values() if t.source == source]
        return [t.describe() for t in sorted(mine, key=lambda t: -t.started_at)]
