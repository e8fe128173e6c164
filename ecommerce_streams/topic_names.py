"""The names of every topic the platform reads or writes, under one optional prefix.

A prefix lets several isolated deployments (or test runs) share one cluster. A replay
(``ecommerce-streams replay``) reads the same source topics but writes every derived
topic under its own prefix, so live consumers never see its events twice. The control
topics (the routing catalogues) are the live ones in a replay too: they hold no events.
"""

import functools
from collections.abc import Iterable
from dataclasses import dataclass, replace

from models.topics import CONTROL_ROLES, DERIVED_ROLES, SOURCE_ROLES, TopicRole


@dataclass(frozen=True)
class TopicNames:
    """Topic names for one deployment: each role's base name under the deployment's prefix."""

    prefix: str = ""
    derived_prefix: str | None = None
    """Prefix of the derived topics (commands, results, outputs); None: ``prefix``."""

    def name(self, role: TopicRole) -> str:
        """The topic of ``role`` in this deployment."""
        if role in DERIVED_ROLES and self.derived_prefix is not None:
            return f"{self.derived_prefix}{role.value}"
        return f"{self.prefix}{role.value}"

    def replay(self, version: int) -> "TopicNames":
        """The names of a replay into ``version``: live sources and catalogues, its own outputs."""
        return replace(self, derived_prefix=f"{self.prefix}replay-v{version}.")

    @property
    def orders(self) -> str:
        """Orders placed and cancellation requests, keyed by order id."""
        return self.name(TopicRole.ORDERS)

    @property
    def payments(self) -> str:
        """Payment authorizations and declines, keyed by order id."""
        return self.name(TopicRole.PAYMENTS)

    @property
    def inventory(self) -> str:
        """Stock received and adjusted by the warehouse, keyed by sku."""
        return self.name(TopicRole.INVENTORY)

    @property
    def inventory_commands(self) -> str:
        """Reserve, release and commit commands, keyed by sku."""
        return self.name(TopicRole.INVENTORY_COMMANDS)

    @property
    def inventory_results(self) -> str:
        """Reservation outcomes, keyed by order id."""
        return self.name(TopicRole.INVENTORY_RESULTS)

    @property
    def order_events(self) -> str:
        """Order decisions (confirmed, rejected, cancelled, refunds), keyed by order id."""
        return self.name(TopicRole.ORDER_EVENTS)

    @property
    def shipments(self) -> str:
        """Shipment requests, keyed by order id."""
        return self.name(TopicRole.SHIPMENTS)

    @property
    def notifications(self) -> str:
        """Customer notifications, keyed by customer id."""
        return self.name(TopicRole.NOTIFICATIONS)

    @property
    def analytics(self) -> str:
        """Windowed revenue and order counts, keyed by metric."""
        return self.name(TopicRole.ANALYTICS)

    @property
    def dead_letters(self) -> str:
        """Events that could not be applied, with their reason, keyed by original key."""
        return self.name(TopicRole.DEAD_LETTERS)

    @property
    def http_deliveries(self) -> str:
        """Routed deliveries to HTTP endpoints, for the delivery service, keyed like their event."""
        return self.name(TopicRole.HTTP_DELIVERIES)

    @property
    def dead_letters_redriven(self) -> str:
        """Which dead letters were sent back to their source topic, keyed by letter."""
        return self.name(TopicRole.DEAD_LETTERS_REDRIVEN)

    @property
    def routing_rules(self) -> str:
        """EventBridge-style rules with their targets, compacted, keyed by rule name."""
        return self.name(TopicRole.ROUTING_RULES)

    @property
    def routing_subscriptions(self) -> str:
        """SNS-style subscriptions, compacted, keyed by subscription id."""
        return self.name(TopicRole.ROUTING_SUBSCRIPTIONS)

    @property
    def queue_state(self) -> str:
        """The SQS-style queues: attributes, messages and deduplication ids, compacted."""
        return self.name(TopicRole.QUEUE_STATE)

    def sources(self) -> tuple[str, ...]:
        """Topics the shop's own systems write to."""
        return _names(self, SOURCE_ROLES)

    def outputs(self) -> tuple[str, ...]:
        """Topics the platform derives."""
        return _names(self, DERIVED_ROLES)

    def all(self) -> tuple[str, ...]:
        """Every topic events travel on: the sources and the outputs (not the controls)."""
        return self.sources() + self.outputs()

    def controls(self) -> tuple[str, ...]:
        """The compacted catalogues that configure the platform (no events on them)."""
        return _names(self, CONTROL_ROLES)


@functools.cache
def _names(names: TopicNames, roles: Iterable[TopicRole]) -> tuple[str, ...]:
    """The topics of ``roles`` in a deployment, worked out once (a worker asks per event)."""
    return tuple(names.name(role) for role in roles)
