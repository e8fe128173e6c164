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
from ecommerce_streams.exactly_once import (
    batches_unit_of_work,
    gate_of,
    outbox,
    process_event,
    process_events,
    waiting_events,
)
from ecommerce_streams.partitioning import partition_of
from ecommerce_streams.schemas.framed import RegistryUnavailable
from ecommerce_streams.worker import routing, topics
from ecommerce_streams.worker.app import app, settings
from ecommerce_streams.worker.dead_letters import send_dead_letter
from ecommerce_streams.worker.schemas import framed_events
from models.envelope import Envelope, encode_event
from models.schemas.framing import InvalidFraming, is_framed
from models.stages import Stage, Tables, judge
from tables import seen

SCHEMA_STAGE = "schema"
"""The stage named in the dead letter of a framed value that fails its schema check."""
INTAKE_STAGE = "intake"
"""The stage named in the dead letter of a source event written to the wrong partition."""


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
    if batches_unit_of_work(app):
        async for events in waiting_events(stream):
            await process_events(app, stream, events, partial(apply_stages, stages=each_own))
        return
    async for event in cast(Stream[bytes], stream).noack().events():
        await process_event(app, event, partial(apply_stages, event, each_own))


async def apply_stages(event: EventT[bytes], stages: tuple[tuple[Stage, Tables], ...]) -> None:
    """Apply one input event to each stage in turn, each with only its own tables, then route it.

    A value in Confluent's framing is checked against the schema its id names first, and
    the stages read its plain JSON; one that fails the check is dead-lettered (stage
    ``schema``) with the reason.
    """
    value = event.message.value
    wrong_partition = misrouted(event)
    if wrong_partition is not None:
        await set_aside(event, stage=INTAKE_STAGE, error=wrong_partition, category="misrouted")
        return
    if is_framed(value):
        try:
            value = await framed_events().plain(value)
        except InvalidFraming as refused:
            unavailable = isinstance(refused, RegistryUnavailable)
            category = "unvalidated" if unavailable else "schema"
            await set_aside(event, stage=SCHEMA_STAGE, error=refused.reason, category=category)
            return
    applied = None
    for stage, tables in stages:
        applied = await apply_event(event, value, stage=stage, tables=tables) or applied
    if applied is not None and routing.routes_topic(event.message.topic):
        failed = await routing.route_event(event, applied)
        if failed:
            reason = "undeliverable routes: " + "; ".join(failed)
            await set_aside(
                event, stage=routing.ROUTING_STAGE, error=reason, category="undeliverable"
            )


def misrouted(event: EventT[bytes]) -> str | None:
    """Why a source event sits in a partition other than its key's, or None.

    Tables are partitioned like their inputs, so an event in the wrong partition would
    be applied to state that is not its key's. Our producers and Java's use Kafka's
    murmur2 partitioner; librdkafka's default (CRC32) puts many keys elsewhere.
    """
    message = event.message
    if message.key is None or message.topic not in source_topic_names():
        return None
    expected = partition_of(message.key, settings.partitions)
    if message.partition == expected:
        return None
    return (
        f"key {message.key.decode(errors='replace')!r} belongs in partition {expected} of "
        f"{message.topic} (Kafka's murmur2 partitioner), not {message.partition}: a producer "
        "with another partitioner must use murmur2 (librdkafka: partitioner=murmur2_random)"
    )


@cache
def source_topic_names() -> frozenset[str]:
    """The names of the topics the shop's own systems write."""
    return frozenset(settings.topics.sources())


async def apply_event(
    event: EventT[bytes], value: bytes | None, *, stage: Stage, tables: Tables
) -> Envelope | None:
    """Apply one input event (``value``: its plain JSON) exactly once, or dead-letter it.

    Returns the event when it was applied now (not set aside, not a duplicate).
    """
    message = event.message
    name = stage.name
    guarded = seen.guards(
        message, exactly_once=app.in_transaction, shared_topics=topics_read_by_several_agents()
    )

    def applied(event_id: UUID) -> bool:
        return guarded and seen.is_duplicate(name, event_id, event)

    verdict = judge(stage, tables, message.key, value, applied)
    if verdict.set_aside is not None:
        category, reason = verdict.set_aside
        await set_aside(event, stage=name, error=reason, category=category)
        return None
    if verdict.duplicate:
        metrics.labelled(metrics.duplicates_dropped, name, message.topic).inc()
        return None
    assert verdict.event is not None
    if guarded and not stage.keeps_id(verdict.event):
        seen.remember(name, verdict.event.event_id, event)
    await publish(verdict.derived)
    event_type = verdict.event.event_type
    metrics.labelled(metrics.events_processed, name, message.topic, event_type).inc()
    if verdict.derived:
        latency = metrics.labelled(metrics.end_to_end_latency, name)
        latency.observe(time.time() - message.timestamp)
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
