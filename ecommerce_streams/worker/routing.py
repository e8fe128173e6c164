"""The router: each event written to a routed topic, matched and delivered in its transaction.

Every worker reads the rules and subscriptions catalogues (the same ones its HTTP routes
change). The stage that derives an event for a routed topic (``order-events``,
``shipments``, ``notifications``) routes it as it writes it, in the same unit of work:
each delivery is a record in the transaction that writes the event and commits the
input's offset, so a matched event reaches each target exactly once, and no agent reads
the routed topics back only to route them. A delivery to an HTTP endpoint is a record on
``http-deliveries`` (the delivery service sends it on). A worker routes nothing before
it has read both catalogues to their end, so a rule created before an event is written
finds that event.

A Kafka target that does not exist (the broker creates no topic by itself) or that is one
of the platform's own topics would stall or corrupt the partition: the event is
dead-lettered (stage ``routing``, at its place in its topic) with the routes it could not
reach, and its other routes are delivered. Redriving that letter delivers it to those
routes (``operations/dead_letter_queue.py``).
"""

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from faust import TopicT

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
from models.routing.router import Routed, delivery_headers, route
from models.routing.rules import DestinationKind
from models.routing.subscriptions import notification_provider
from models.topics import ROUTED_ROLES, TopicRole

logger = logging.getLogger(__name__)

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


def routed_role(topic: str) -> TopicRole | None:
    """The role of ``topic`` when the events written to it are routed, else None."""
    return routed_topics.get(topic) if enabled else None


async def route_written(
    role: TopicRole, key: bytes, envelope: Envelope, value: bytes
) -> list[tuple[str, str]]:
    """Deliver one event written to a routed topic to every route it matches, in its transaction.

    Returns each route it could not deliver to, with the reason.
    """
    if not _catalogues_read.is_set():
        await read_catalogues()
    rules = catalogues.rule_catalogue.entries.values()
    subscriptions = catalogues.subscription_catalogue.entries.values()
    if not rules and not subscriptions:
        return []
    deliveries = route(rules, subscriptions, role, envelope, value, [], datetime.now(UTC))
    failed: list[tuple[str, str]] = []
    for routed in deliveries:
        problem = await _deliver(key, envelope, routed)
        if problem is None:
            metrics.events_routed.labels(routed.route).inc()
        else:
            failed.append((routed.route, problem))
    return failed


async def _deliver(key: bytes, envelope: Envelope, routed: Routed) -> str | None:
    """Write one delivery's record, or say why it cannot be written."""
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
    headers = delivery_headers(routed, envelope.event_id)
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
