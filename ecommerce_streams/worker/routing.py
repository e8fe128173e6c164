"""The router: each event of a routed topic, matched and delivered in its own transaction.

Every worker reads the rules and subscriptions catalogues (the same ones its HTTP routes
change). An agent that reads a routed topic routes each event it applies, after its
stages, in the same unit of work: each delivery to a Kafka target is a record in the
transaction of the input's offset, so a matched event reaches each target exactly once.
A delivery to an HTTP endpoint is a record on ``http-deliveries`` (the delivery service
sends it on). A worker routes nothing before it has read both catalogues to their end,
so a rule created before an event is routed finds that event.

A Kafka target that does not exist (the broker creates no topic by itself) or that is one
of the platform's own topics would stall or corrupt the partition: the event is
dead-lettered with the routes it could not reach, and its other routes are delivered.
"""

import asyncio
import json
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from faust import TopicT
from faust.types import EventT

from ecommerce_streams import metrics
from ecommerce_streams.exactly_once import outbox
from ecommerce_streams.kafka_admin import admin_client
from ecommerce_streams.operations.topic_setup import partition_counts
from ecommerce_streams.routing.actions import RoutingCatalogues
from ecommerce_streams.routing.writer import CatalogueUnavailable
from ecommerce_streams.worker import topics
from ecommerce_streams.worker.app import app, settings
from models.envelope import Envelope
from models.routing.checks import AwsError
from models.routing.router import (
    ENDPOINT_HEADER,
    EVENT_ID_HEADER,
    RETRY_POLICY_HEADER,
    ROUTE_HEADER,
    Routed,
    route,
)
from models.routing.rules import DestinationKind
from models.routing.subscriptions import notification_provider
from models.topics import ROUTED_ROLES, TopicRole

logger = logging.getLogger(__name__)

ROUTING_STAGE = "routing"
"""The stage name of the router's dead letters and metrics."""
RETRY_SECONDS = 1.0
MISSING_TOPIC_RECHECK_SECONDS = 10.0
"""How long a Kafka target found missing is taken as missing before it is looked up again."""

catalogues = RoutingCatalogues(
    settings.bootstrap,
    settings.topics,
    partitions=settings.partitions,
    replication=settings.replication,
)
"""The deployment's rules and subscriptions, read by the router and changed over HTTP."""

enabled = settings.routing and not settings.replay
"""Whether this worker routes (a replay rebuilds state and delivers nothing)."""

routed_topics: dict[str, TopicRole] = {settings.topics.name(role): role for role in ROUTED_ROLES}
_platform_topics = frozenset((*settings.topics.all(), *settings.topics.controls()))
_catalogues_read = asyncio.Event()
_existing_topics: set[str] = set()
_missing_topics: dict[str, float] = {}
_target_topics: dict[str, TopicT] = {}


async def read_catalogues() -> None:
    """Read both catalogues to their end once, retrying until the broker answers."""
    while not _catalogues_read.is_set():
        try:
            await catalogues.rule_catalogue.current()
            await catalogues.subscription_catalogue.current()
        except CatalogueUnavailable as unavailable:
            logger.warning("routing waits for its catalogues: %s", unavailable)
            await asyncio.sleep(RETRY_SECONDS)
            continue
        _catalogues_read.set()


async def _start() -> None:
    """Read the catalogues from the worker's start; subscribe the notification provider."""
    await read_catalogues()
    endpoint = settings.notification_endpoint
    if endpoint and enabled:
        try:
            await catalogues.subscribe(notification_provider(endpoint))
        except (AwsError, CatalogueUnavailable) as refused:
            logger.error("ES_NOTIFICATION_ENDPOINT %r not subscribed: %s", endpoint, refused)


app.task(_start)


@app.on_before_shutdown.connect
async def _stop_catalogues(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
    """Close the catalogues' consumers and producer when the worker shuts down."""
    await catalogues.stop()


CATALOGUE_WAIT_SECONDS = 30.0
"""Longest a fresh transaction waits for the catalogues to learn which topics to clean up."""


async def kafka_targets() -> list[str]:
    """Every existing Kafka topic a rule target or subscription delivers to.

    A fresh transactional producer aborts what an earlier epoch left in these too (see
    ``SourceTransactionManager._abort_forgotten``), as in the output topics.
    """
    if not enabled:
        return []
    try:  # the first assignment comes before the app's tasks start: read them here
        await asyncio.wait_for(read_catalogues(), CATALOGUE_WAIT_SECONDS)
    except TimeoutError:
        logger.warning("routing catalogues unread: fresh transactions skip the Kafka targets")
    named = {
        target.destination.address
        for rule in catalogues.rule_catalogue.entries.values()
        for target in rule.targets
        if target.destination.kind is DestinationKind.KAFKA
    } | {
        subscription.destination.address
        for subscription in catalogues.subscription_catalogue.entries.values()
        if subscription.destination.kind is DestinationKind.KAFKA
    }
    return [name for name in sorted(named - _platform_topics) if await _topic_exists(name)]


# Our hook rides on Faust's app object, whose type does not declare it.
app.routed_topics = kafka_targets  # type: ignore[attr-defined]


def routes_topic(topic: str) -> bool:
    """Whether events read from ``topic`` are routed."""
    return enabled and topic in routed_topics


async def route_event(event: EventT[bytes], envelope: Envelope) -> list[str]:
    """Deliver one applied event to every route it matches, in its transaction.

    Returns the routes it could not deliver to, each with the reason.
    """
    if not _catalogues_read.is_set():
        await read_catalogues()
    message = event.message
    role = routed_topics[message.topic]
    rules = catalogues.rule_catalogue.entries.values()
    subscriptions = catalogues.subscription_catalogue.entries.values()
    if not rules and not subscriptions:
        return []
    assert message.value is not None  # an applied event has a value
    deliveries = route(
        rules,
        subscriptions,
        role,
        envelope,
        message.value,
        _headers(message.headers),
        datetime.fromtimestamp(message.timestamp, UTC),
    )
    failed: list[str] = []
    for routed in deliveries:
        problem = await _deliver(message.key, envelope, routed)
        if problem is None:
            metrics.events_routed.labels(routed.route).inc()
        else:
            failed.append(f"{routed.route}: {problem}")
    return failed


def _headers(
    headers: Sequence[tuple[str, bytes]] | Mapping[str, bytes] | None,
) -> list[tuple[str, bytes]]:
    """A record's headers as pairs (Faust hands a list of pairs or a mapping)."""
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        return list(headers.items())
    return list(headers)


async def _deliver(key: bytes | None, envelope: Envelope, routed: Routed) -> str | None:
    """Write one delivery's record, or say why it cannot be written."""
    headers = [
        (ROUTE_HEADER, routed.route.encode()),
        (EVENT_ID_HEADER, str(envelope.event_id).encode()),
    ]
    destination = routed.destination
    if destination.kind is DestinationKind.KAFKA:
        name = destination.address
        if name in _platform_topics:
            return f"target topic {name!r} is one of the platform's own topics"
        if not await _topic_exists(name):
            return f"target topic {name!r} does not exist"
        target = _target_topics.get(name) or _target_topics.setdefault(name, topics.raw_topic(name))
    else:
        target = topics.by_role[TopicRole.HTTP_DELIVERIES]
        headers.append((ENDPOINT_HEADER, destination.address.encode()))
        if routed.retry_policy is not None:
            headers.append((RETRY_POLICY_HEADER, json.dumps(dict(routed.retry_policy)).encode()))
    await outbox.send(app, target, key, routed.value, headers=headers)
    return None


async def _topic_exists(name: str) -> bool:
    """Whether the broker has topic ``name`` (a missing one is looked up again later)."""
    if name in _existing_topics:
        return True
    checked = _missing_topics.get(name)
    if checked is not None and time.monotonic() - checked < MISSING_TOPIC_RECHECK_SECONDS:
        return False
    async with admin_client(settings.bootstrap) as admin:
        found = bool(await partition_counts(admin, (name,)))
    if found:
        _existing_topics.add(name)
        _missing_topics.pop(name, None)
    else:
        _missing_topics[name] = time.monotonic()
    return found
