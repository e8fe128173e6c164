"""One event, one unit of work: processed, acknowledged and counted only as a whole."""

import asyncio
from collections.abc import Awaitable, Callable

from faust.types import AppT, EventT

from ecommerce_streams.exactly_once.gate import ProcessingGate, gate_of
from ecommerce_streams.exactly_once.repairs import Repair, repaired


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
    if not repaired(app, Repair.FAIL_FAST):
        await work()
        settle_ack(gate, event)
        return
    try:
        async with gate.unit():
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
            gate.want_commit_if_drained(getattr(app, "commit_max_events", 1000))
    except asyncio.CancelledError:
        raise
    except BaseException as exc:
        await app.crash(exc)
        raise
