"""Redrive: move tasks that send a dead-letter queue's messages back, as SQS's StartMessageMoveTask.

A task takes the messages in the dead-letter queue when it starts and moves them one at
a time, at most ``MaxNumberOfMessagesPerSecond`` (1..500, default 500), to the
destination queue, or to the queue each came from when none is named. Each move is one
transaction of the store: the message leaves the dead-letter queue and enters the
destination as a new message (a new id, receive count 0), never both, never neither.
One task per source at a time; a task can be cancelled, and reports how many it moved of
how many. A task is stored with the queues (``t/<handle>``: it moves the source's
messages up to the highest sequence number the source had when it started), its count in
the same transaction as each move: a server killed mid-task resumes it when it starts
again (:meth:`MoveTasks.resume`), moving nothing twice.
"""

import asyncio
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from ecommerce_streams.queues.store import QueueStore
from models.queues.attributes import queue_arn
from models.routing.checks import AwsError

MAX_RATE = 500
STOP_WAIT_SECONDS = 35.0
"""How long a stopping server waits for a task's current move (a store write waits 30 s)."""


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
    up_to: int
    """The highest sequence number in the source when the task started: it moves those."""
    to_move: int
    started_at: float
    moved: int = 0
    status: TaskStatus = TaskStatus.RUNNING
    failure: str | None = None
    runner: asyncio.Task[None] | None = field(default=None, repr=False)

    def stored(self) -> dict[str, Any]:
        """The task as the store keeps it."""
        return {
            "source": self.source,
            "destination": self.destination,
            "rate": self.rate,
            "up_to": self.up_to,
            "to_move": self.to_move,
            "started_at": self.started_at,
            "moved": self.moved,
            "status": self.status.value,
            "failure": self.failure,
        }

    @classmethod
    def from_stored(cls, handle: str, document: Mapping[str, Any]) -> "MoveTask":
        """A task back from the store."""
        return cls(
            handle,
            document["source"],
            document["destination"],
            document["rate"],
            document["up_to"],
            document["to_move"],
            document["started_at"],
            moved=document["moved"],
            status=TaskStatus(document["status"]),
            failure=document.get("failure"),
        )

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
        self.tasks = {
            handle: MoveTask.from_stored(handle, document)
            for handle, document in store.move_tasks.items()
        }
        self._stopping = False

    async def resume(self) -> None:
        """Carry on the tasks a stopped server left running; end those it was cancelling."""
        for task in self.tasks.values():
            if task.status is TaskStatus.CANCELLING:
                task.status = TaskStatus.CANCELLED
                await self.store.save_task(task.handle, task.stored())
            elif task.status is TaskStatus.RUNNING and task.runner is None:
                task.runner = asyncio.create_task(self._run(task), name=f"move {task.source}")

    async def stop(self) -> None:
        """Stop the running tasks after their current move (they resume at the next start)."""
        self._stopping = True
        runners = {t.runner for t in self.tasks.values() if t.runner is not None}
        if runners:
            _, late = await asyncio.wait(runners, timeout=STOP_WAIT_SECONDS)
            for runner in late:
                runner.cancel()
            await asyncio.gather(*runners, return_exceptions=True)

    async def start(
        self, source_arn: object, destination_arn: object = None, rate: object = None
    ) -> str:
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
        messages = self.store.queues[source].messages.values()
        up_to = max((m.sequence for m in messages), default=0)
        task = MoveTask(
            str(uuid.uuid4()), source, destination, rate, up_to, len(messages), time.time()
        )
        await self.store.save_task(task.handle, task.stored())
        self.tasks[task.handle] = task
        task.runner = asyncio.create_task(self._run(task), name=f"move {source}")
        return task.handle

    async def _run(self, task: MoveTask) -> None:
        try:
            source = self.store.queues.get(task.source)
            if source is None:
                raise AwsError("ResourceNotFoundException", f"The queue {task.source} is gone.")
            waiting = sorted(
                (m for m in source.messages.values() if m.sequence <= task.up_to),
                key=lambda m: m.sequence,
            )
            for message in waiting:
                if self._stopping:
                    return  # stored as running: the next start resumes it
                if task.status is TaskStatus.CANCELLING:
                    task.status = TaskStatus.CANCELLED
                    break
                after = replace(task, moved=task.moved + 1, runner=None)
                if await self.store.redrive(
                    task.source, message.message_id, task.destination, (task.handle, after.stored())
                ):
                    task.moved += 1
                await asyncio.sleep(1 / task.rate)
            else:
                task.status = TaskStatus.COMPLETED
        except AwsError as failed:
            task.status, task.failure = TaskStatus.FAILED, failed.message
        except Exception as failed:  # the store could not write: the task stops here
            task.status, task.failure = TaskStatus.FAILED, repr(failed)
        await self._saved(task)

    async def _saved(self, task: MoveTask) -> None:
        """Store how a task ended; if the store cannot, it is resumed at the next start."""
        try:
            await self.store.save_task(task.handle, task.stored())
        except Exception:  # the stored state stays RUNNING: the next start resumes it
            return

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
