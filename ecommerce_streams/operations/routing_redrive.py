"""Redriving a routing dead letter: its event delivered again to the routes that missed it.

An event is routed as it is written (``worker/routing.py``); a route whose Kafka target
did not exist then is named in the event's dead letter (stage ``routing``). Resending
the event to its own topic would route nothing, since no agent reads the routed topics
back, so its redrive writes the deliveries instead: the event routed again with the
catalogues as they are now, kept to the routes the letter names, in the redrive's
transaction. A route that no longer matches, or whose topic is still missing, is refused.
"""

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from ecommerce_streams.kafka_admin import admin_client
from ecommerce_streams.operations.dead_letter_queue import Delivery, RedriveRefused, Resend
from ecommerce_streams.operations.topic_setup import partition_counts
from ecommerce_streams.routing.actions import RoutingCatalogues
from ecommerce_streams.topic_names import TopicNames
from models.envelope import decode_event
from models.routing.router import ROUTING_STAGE, delivery_headers, failed_routes, route
from models.routing.rules import DestinationKind, Rule
from models.routing.subscriptions import Subscription
from models.topics import ROUTED_ROLES


def reroutes(resend: Resend) -> bool:
    """Whether this resend is a routing letter's, delivered to its routes instead."""
    return resend.queued.letter.stage == ROUTING_STAGE


def plan_delivery(
    resend: Resend,
    rules: Iterable[Rule],
    subscriptions: Iterable[Subscription],
    names: TopicNames,
    existing: set[str],
) -> Resend:
    """The resend with the deliveries its letter's routes get now; RedriveRefused if none can."""
    letter = resend.queued.letter
    roles = {names.name(role): role for role in ROUTED_ROLES}
    role = roles.get(letter.source_topic)
    wanted = set(failed_routes(letter.error))
    if role is None or not wanted:
        raise RedriveRefused(
            f"{resend.queued.id}: a routing letter of {letter.source_topic!r} that names no "
            "route; nothing to deliver"
        )
    envelope = decode_event(resend.value)
    routed = route(rules, subscriptions, role, envelope, resend.value, [], datetime.now(UTC))
    deliveries = []
    for delivery in routed:
        if delivery.route not in wanted:
            continue
        if delivery.destination.kind is DestinationKind.KAFKA:
            topic = delivery.destination.address
            if topic not in existing:
                raise RedriveRefused(
                    f"{resend.queued.id}: {delivery.route}'s target topic {topic!r} still "
                    "does not exist; create it, then redrive"
                )
        else:
            topic = names.http_deliveries
        headers = tuple(delivery_headers(delivery, envelope.event_id))
        deliveries.append(Delivery(topic, delivery.value, headers))
    if not deliveries:
        raise RedriveRefused(
            f"{resend.queued.id}: none of its routes ({', '.join(sorted(wanted))}) matches "
            "the event now; nothing to deliver"
        )
    return replace(resend, deliveries=tuple(deliveries))


async def plan_deliveries(
    bootstrap: str,
    names: TopicNames,
    resends: Sequence[Resend],
    *,
    partitions: int,
    replication: int,
) -> tuple[list[Resend], list[RedriveRefused]]:
    """Each resend, a routing letter's with its deliveries (read from the live catalogues)."""
    if not any(reroutes(resend) for resend in resends):
        return list(resends), []
    catalogues = RoutingCatalogues(bootstrap, names, partitions=partitions, replication=replication)
    try:
        rules = list((await catalogues.rule_catalogue.current()).values())
        subscriptions = list((await catalogues.subscription_catalogue.current()).values())
    finally:
        await catalogues.stop()
    kafka_targets = {
        target.destination.address
        for rule in rules
        for target in rule.targets
        if target.destination.kind is DestinationKind.KAFKA
    } | {
        s.destination.address for s in subscriptions if s.destination.kind is DestinationKind.KAFKA
    }
    async with admin_client(bootstrap) as admin:
        existing = set(await partition_counts(admin, tuple(sorted(kafka_targets))))
    planned: list[Resend] = []
    refused: list[RedriveRefused] = []
    for resend in resends:
        if not reroutes(resend):
            planned.append(resend)
            continue
        try:
            planned.append(plan_delivery(resend, rules, subscriptions, names, existing))
        except RedriveRefused as refusal:
            refused.append(refusal)
    return planned, refused
