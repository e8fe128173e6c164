"""Units of work: one event, or the events waiting in an agent's input, processed as a whole."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import cast

from faust import Stream
from faust.types import AppT, EventT, StreamT

from ecommerce_streams import metrics
from ecommerce_streams.exactly_once.gate import DEFAULT_COMMIT_MAX_EVENTS, ProcessingGate, gate_of
from ecommerce_streams.exactly_once.repairs import Repair, repaired

UNIT_MAX_EVENTS = 100
"""Events one batched unit of work takes at most: a commit waits for a unit in flight."""


def is_current(app: AppT, event: EventT[bytes]) -> bool:
    """Whether the event was fetched in this generation and no rebalance has begun since."""
    message = event.message
    return bool(
        app.flow_control.is_active() and message.generation_id == app.consumer_generation_id
    )


def settle_ack(gate: ProcessingGate, event: EventT[bytes]) -> None:
    """Acknowledge the event; once every stream reading it has, count it as processed.

    Two agents can read one topic (the saga's agents do not; each reads its own topics).
    Faust counts a message's readers and reports the last one's ack (gap 10): only then
    may the partition's commit move past it. Each stream takes its messages in offset
    order, so last acks come in offset order too and ``processed`` stays exact.
    """
    if event.ack():
        gate.record_processed(event.message.tp, event.message.offset)


async def process_event(
    app: AppT,
    event: EventT[bytes],
    work: Callable[[], Awaitable[None]],
) -> None:
    """Process one event atomically: acknowledge it only when its effects are all sent.

    The stream must be opened with ``stream.noack()`` so that this is the only ack.
    An event that waited at the gate while a rebalance began is not processed (gap 11):
    it is fetched again after the rebalance's seek, by whichever worker owns it then.
    An exception poisons the gate and crashes the worker, so the half-done event's
    transaction is never committed.
    """
    gate = gate_of(app)
    metrics.unit_events.observe(1)
    if not repaired(app, Repair.FAIL_FAST):
        await work()
        settle_ack(gate, event)
        return
    async with crashing_on_failure(app), gate.unit():
        if repaired(app, Repair.ABANDONED_MESSAGES) and not is_current(app, event):
            event.ack()  # releases Faust's reference; never counted as processed
            return
        await work()
        if repaired(app, Repair.SHARED_INPUTS):
            settle_ack(gate, event)
        else:
            event.ack()
            gate.record_processed(event.message.tp, event.message.offset)
    if repaired(app, Repair.COMMIT_ON_DRAIN):
        gate.want_commit_if_drained(getattr(app, "commit_max_events", DEFAULT_COMMIT_MAX_EVENTS))


@asynccontextmanager
async def crashing_on_failure(app: AppT) -> AsyncIterator[None]:
    """Crash the worker on any exception but cancellation (the gate is poisoned already)."""
    try:
        yield
    except asyncio.CancelledError:
        raise
    except BaseException as exc:
        await app.crash(exc)
        raise


def batches_unit_of_work(app: AppT) -> bool:
    """Whether units of work take every event waiting in the input.

    Batches assume the repairs a single event's unit can do without; with any of them
    switched off, units stay single events so that the switch still shows its gap.
    """
    needed = (
        Repair.BATCHED_UNITS,
        Repair.FAIL_FAST,
        Repair.ABANDONED_MESSAGES,
        Repair.SHARED_INPUTS,
        Repair.COMMIT_ON_DRAIN,
    )
    return all(repaired(app, repair) for repair in needed)


async def waiting_events(stream: StreamT[bytes]) -> AsyncIterator[list[EventT[bytes]]]:
    """The stream's next event with the events already queued behind it (``UNIT_MAX_EVENTS``).

    Faust's stream iterator costs an event loop turn, sensors and a context switch per
    event; the events behind the first are taken from the channel's queue directly, and
    tracked for Faust's acks as its iterator would.
    """
    queue = stream.channel.queue  # type: ignore[attr-defined]  # a topic's channel has one
    consumer = stream.app.consumer
    acking_topics = stream.app.topics.acking_topics
    async for event in cast(Stream[bytes], stream).noack().events():
        batch = [event]
        while len(batch) < UNIT_MAX_EVENTS and not queue.empty():
            waiting = queue.get_nowait()
            message = waiting.message
            if message.topic in acking_topics and not message.tracked:
                message.tracked = True
                consumer.track_message(message)
            batch.append(waiting)
        yield batch


async def process_events(
    app: AppT,
    stream: StreamT[bytes],
    events: Sequence[EventT[bytes]],
    work: Callable[[EventT[bytes]], Awaitable[None]],
) -> None:
    """Process the events, in their order, as one unit of work; each acknowledged when done.

    One gate turn for all: a commit waits until the last is processed. Each event is
    still counted as processed only when its effects are all sent, and an event that
    waited while a rebalance began is not processed (gap 11). Tables and the outbox find
    the event being processed through Faust's current event, set here for each.
    """
    gate = gate_of(app)
    metrics.unit_events.observe(len(events))
    async with crashing_on_failure(app), gate.unit():
        for event in events:
            if not is_current(app, event):
                event.ack()  # releases Faust's reference; never counted as processed
                continue
            stream._set_current_event(event)  # type: ignore[attr-defined]  # Faust's
            await work(event)
            settle_ack(gate, event)
    gate.want_commit_if_drained(getattr(app, "commit_max_events", DEFAULT_COMMIT_MAX_EVENTS))
