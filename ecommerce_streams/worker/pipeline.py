"""The path every input event takes: decode, deduplicate, decide, store, send.

Agents differ only in their stages (``models/stages.py``: the topics each reads and
writes, its tables, its ``decide``). Everything that can go wrong with *input* becomes
a dead letter here, so no agent ever raises on bad data; a stage that derives an event
for a topic it does not declare is a bug, and crashes the worker before anything of it
commits.
"""

import time
from collections import Counter
from collections.abc import Iterable
from functools import cache, partial
from typing import cast
from uuid import UUID

from faust import Channel, Stream
from faust.types import EventT, StreamT

from ecommerce_streams import metrics
from ecommerce_streams.exactly_once import gate_of, outbox, process_event
from ecommerce_streams.worker import routing, topics
from ecommerce_streams.worker.app import app
from ecommerce_streams.worker.dead_letters import send_dead_letter
from models.envelope import Envelope, encode_event
from models.stages import Stage, Tables, judge
from tables import seen


async def run_stages(stream: StreamT[bytes], stages: tuple[Stage, ...], tables: Tables) -> None:
    """Apply every event of an agent's stream exactly once, each as one unit of work.

    An agent may run several stages that read the same topic: each event is one unit
    of work for all of them, so their effects commit together with its offset.
    """
    needed = {name for stage in stages for name in stage.tables}
    if set(tables) != needed:
        names = [stage.name for stage in stages]
        raise TypeError(f"stages {names} keep tables {sorted(needed)}, given {sorted(tables)}")
    each_own = tuple((stage, {name: tables[name] for name in stage.tables}) for stage in stages)
    gate_of(app).watch_input(cast(Channel[bytes], stream.channel).queue)
    async for event in cast(Stream[bytes], stream).noack().events():
        await process_event(app, event, partial(apply_stages, event, each_own))


async def apply_stages(event: EventT[bytes], stages: tuple[tuple[Stage, Tables], ...]) -> None:
    """Apply one input event to each stage in turn, each with only its own tables, then route it."""
    applied = None
    for stage, tables in stages:
        applied = await apply_event(event, stage=stage, tables=tables) or applied
    if applied is not None and routing.routes_topic(event.message.topic):
        failed = await routing.route_event(event, applied)
        if failed:
            reason = "undeliverable routes: " + "; ".join(failed)
            await set_aside(
                event, stage=routing.ROUTING_STAGE, error=reason, category="undeliverable"
            )


async def apply_event(event: EventT[bytes], *, stage: Stage, tables: Tables) -> Envelope | None:
    """Apply one input event exactly once, or dead-letter it with its reason.

    Returns the event when it was applied now (not set aside, not a duplicate).
    """
    message = event.message
    name = stage.name
    seen.purge_expired(event)
    guarded = seen.guards(
        message, exactly_once=app.in_transaction, shared_topics=topics_read_by_several_agents()
    )

    def applied(event_id: UUID) -> bool:
        return guarded and seen.is_duplicate(name, event_id, event)

    verdict = judge(stage, tables, message.key, message.value, applied)
    if verdict.set_aside is not None:
        category, reason = verdict.set_aside
        await set_aside(event, stage=name, error=reason, category=category)
        return None
    if verdict.duplicate:
        metrics.duplicates_dropped.labels(name, message.topic).inc()
        return None
    assert verdict.event is not None
    if guarded:
        seen.remember(name, verdict.event.event_id, event)
    await publish(verdict.derived)
    metrics.events_processed.labels(name, message.topic, verdict.event.event_type).inc()
    if verdict.derived:
        metrics.end_to_end_latency.labels(name).observe(time.time() - message.timestamp)
    return verdict.event


@cache
def topics_read_by_several_agents() -> frozenset[str]:
    """Topics more than one agent reads (none in the saga: one agent runs both readers of
    order-events), whose events must be checked against ``seen``."""
    readers = Counter(name for agent in app.agents.values() for name in agent.get_topic_names())
    return frozenset(name for name, count in readers.items() if count > 1)


async def set_aside(event: EventT[bytes], *, stage: str, error: str, category: str) -> None:
    """Dead-letter this message once, even when it is read again after a seek back.

    A message with no usable event id is recognised by where it lies in its topic.
    """
    message = event.message
    position = f"{message.topic}[{message.partition}]@{message.offset}"
    if seen.is_duplicate(stage, position, event):
        metrics.duplicates_dropped.labels(stage, message.topic).inc()
        return
    seen.remember(stage, position, event)
    await send_dead_letter(event, stage=stage, error=error, category=category)


async def publish(derived: Iterable[Envelope]) -> None:
    """Send each derived event to its topic, keyed by its payload's partition key."""
    for envelope in derived:
        await outbox.send(
            app,
            topics.destination(envelope.data),
            envelope.data.key.encode(),
            encode_event(envelope),
        )
