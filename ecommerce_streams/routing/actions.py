"""EventBridge's and SNS's actions on the catalogues: apply the pure action, write what changed.

Every action reads its catalogue up to date (:meth:`Catalogue.current`), applies the pure
function of ``models/routing/`` to that mapping, and writes the one key it changed (a
tombstone for a deletion), then answers as AWS does. The worker that answered serves
the change at once; every other worker within a fetch.

The remaining race: two actions on the *same* rule or subscription on two workers at
the same moment both start from the same state, and the last write wins (a target one
of them added can be lost). Actions on different keys never interfere: each record is
one whole rule or subscription.
"""

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeGuard, TypeVar

from aiokafka.errors import KafkaError

from ecommerce_streams.operations.topic_setup import ensure_target_topics
from ecommerce_streams.routing.catalogue import Catalogue, Codec
from ecommerce_streams.routing.writer import CatalogueUnavailable, RecordWriter
from ecommerce_streams.topic_names import TopicNames
from models.routing import rules as eventbridge
from models.routing import subscriptions as sns
from models.routing.checks import AwsError
from models.routing.rules import DestinationKind, Rule, parse_destination
from models.routing.subscriptions import Subscription

T = TypeVar("T")

RULES = Codec(eventbridge.rule_to_bytes, eventbridge.rule_from_bytes)
SUBSCRIPTIONS = Codec(sns.subscription_to_bytes, sns.subscription_from_bytes)


class Entries(Protocol[T]):
    """A catalogue as the actions use it: read up to date, write with read-your-writes."""

    async def current(self) -> Mapping[str, T]:
        """Every entry, up to date."""
        ...

    async def put(self, key: str, value: T | None) -> None:
        """Store ``value`` under ``key`` (None removes it)."""
        ...


async def _store_changes(
    entries: Entries[T], before: Mapping[str, T], after: Mapping[str, T]
) -> None:
    """Write every key whose value an action changed, and a tombstone for each it removed."""
    for key in sorted(before.keys() | after.keys()):
        if before.get(key) != after.get(key):
            await entries.put(key, after.get(key))


class RoutingActions:
    """PutRule, PutTargets, Subscribe and the rest, on a rules and a subscriptions catalogue."""

    def __init__(self, rules: Entries[Rule], subscriptions: Entries[Subscription]) -> None:
        self.rules = rules
        self.subscriptions = subscriptions

    async def put_rule(self, name: str, request: Mapping[str, Any]) -> dict[str, Any]:
        """PutRule of the rule ``name`` (``EventPattern``, ``State``, ``Description``)."""
        given = request.get("Name", name)
        if given != name:
            raise AwsError(
                "ValidationException", f"Name {given!r} in the body differs from the rule {name!r}"
            )
        before = await self.rules.current()
        after, rule = eventbridge.put_rule(before, {**request, "Name": name})
        await _store_changes(self.rules, before, after)
        return {"RuleArn": rule.arn}

    async def describe_rule(self, name: str) -> dict[str, Any]:
        """DescribeRule."""
        return eventbridge.describe_rule(await self.rules.current(), name)

    async def list_rules(self, prefix: str | None = None) -> dict[str, Any]:
        """ListRules, optionally of the names starting with ``prefix``."""
        return eventbridge.list_rules(await self.rules.current(), prefix)

    async def delete_rule(self, name: str) -> dict[str, Any]:
        """DeleteRule (a rule with targets cannot go)."""
        before = await self.rules.current()
        await _store_changes(self.rules, before, eventbridge.delete_rule(before, name))
        return {}

    async def put_targets(self, name: str, targets: object) -> dict[str, Any]:
        """PutTargets: ``FailedEntryCount`` and ``FailedEntries``."""
        before = await self.rules.current()
        after, answer = eventbridge.put_targets(before, name, targets)
        await _store_changes(self.rules, before, after)
        return answer

    async def remove_targets(self, name: str, ids: object) -> dict[str, Any]:
        """RemoveTargets: ``FailedEntryCount`` and ``FailedEntries``."""
        if not _strings(ids):
            raise eventbridge.validation_error("ids", ids, "Member must be a list of strings")
        before = await self.rules.current()
        after, answer = eventbridge.remove_targets(before, name, ids)
        await _store_changes(self.rules, before, after)
        return answer

    async def list_targets(self, name: str) -> dict[str, Any]:
        """ListTargetsByRule."""
        return eventbridge.list_targets_by_rule(await self.rules.current(), name)

    async def subscribe(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Subscribe: the ``SubscriptionArn`` (the existing one for the same topic and endpoint)."""
        before = await self.subscriptions.current()
        after, subscription = sns.subscribe(before, request)
        await _store_changes(self.subscriptions, before, after)
        return {"SubscriptionArn": subscription.arn}

    async def list_subscriptions(self) -> dict[str, Any]:
        """ListSubscriptions."""
        return sns.list_subscriptions(await self.subscriptions.current())

    async def unsubscribe(self, subscription: str) -> dict[str, Any]:
        """Unsubscribe the subscription its id (or ARN) names."""
        before = await self.subscriptions.current()
        await _store_changes(self.subscriptions, before, sns.unsubscribe(before, subscription))
        return {}


def _strings(value: object) -> TypeGuard[Sequence[str]]:
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and all(isinstance(item, str) for item in value)
    )


def kafka_topics_named(entries: object, field: str) -> list[str]:
    """The Kafka topics that well-formed request entries name in ``field`` (``kafka:<topic>``)."""
    if isinstance(entries, Mapping):
        entries = [entries]
    if not isinstance(entries, Sequence) or isinstance(entries, str):
        return []
    named = []
    for entry in entries:
        text = entry.get(field) if isinstance(entry, Mapping) else None
        if not isinstance(text, str):
            continue
        try:
            destination = parse_destination(text)
        except ValueError:
            continue
        if destination.kind is DestinationKind.KAFKA:
            named.append(destination.address)
    return named


class RoutingCatalogues(RoutingActions):
    """The deployment's two catalogues on Kafka, with one writer: started and stopped together.

    A rule target or subscription endpoint on a Kafka topic that does not exist yet gets
    the topic created (the deployment's partitions and replication) before it is stored,
    so the router finds it (the broker creates no topic by itself).
    """

    def __init__(
        self, bootstrap: str, names: TopicNames, *, partitions: int = 1, replication: int = 1
    ) -> None:
        self.bootstrap = bootstrap
        self.partitions = partitions
        self.replication = replication
        self.writer = RecordWriter(bootstrap)
        self.rule_catalogue = Catalogue(bootstrap, names.routing_rules, RULES, self.writer)
        self.subscription_catalogue = Catalogue(
            bootstrap, names.routing_subscriptions, SUBSCRIPTIONS, self.writer
        )
        super().__init__(self.rule_catalogue, self.subscription_catalogue)

    async def put_targets(self, name: str, targets: object) -> dict[str, Any]:
        """PutTargets, once every Kafka topic a target names exists."""
        await self._create_topics(kafka_topics_named(targets, "Arn"))
        return await super().put_targets(name, targets)

    async def subscribe(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Subscribe, once the Kafka topic of the endpoint exists."""
        await self._create_topics(kafka_topics_named(request, "Endpoint"))
        return await super().subscribe(request)

    async def _create_topics(self, topics: list[str]) -> None:
        try:
            await ensure_target_topics(
                self.bootstrap, topics, partitions=self.partitions, replication=self.replication
            )
        except (KafkaError, OSError) as error:
            raise CatalogueUnavailable(
                f"cannot create target topics {topics}: {error!r}"
            ) from error

    async def start(self) -> None:
        """Start reading both catalogues (raises CatalogueUnavailable when it cannot)."""
        await self.rule_catalogue.start()
        await self.subscription_catalogue.start()

    async def stop(self) -> None:
        """Stop reading and writing."""
        await self.rule_catalogue.stop()
        await self.subscription_catalogue.stop()
        await self.writer.stop()


@asynccontextmanager
async def open_catalogues(
    bootstrap: str, names: TopicNames, *, partitions: int = 1, replication: int = 1
) -> AsyncIterator[RoutingCatalogues]:
    """The deployment's catalogues, started, stopped after the block (for tools and tests)."""
    catalogues = RoutingCatalogues(bootstrap, names, partitions=partitions, replication=replication)
    try:
        await catalogues.start()
        yield catalogues
    finally:
        await catalogues.stop()
