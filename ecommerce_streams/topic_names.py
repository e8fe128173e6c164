"""The names of every topic the platform reads or writes, under one optional prefix.

A prefix lets several isolated deployments (or test runs) share one cluster. A replay
(``ecommerce-streams replay``) reads the same source topics but writes every derived
topic under its own prefix, so live consumers never see its events twice.
"""

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class TopicNames:
    """Topic names for one deployment."""

    prefix: str = ""
    derived_prefix: str | None = None
    """Prefix of the derived topics (commands, results, outputs); None: ``prefix``."""

    def _name(self, base: str) -> str:
        return f"{self.prefix}{base}"

    def _derived(self, base: str) -> str:
        prefix = self.prefix if self.derived_prefix is None else self.derived_prefix
        return f"{prefix}{base}"

    def replay(self, version: int) -> "TopicNames":
        """The names a replay into app version ``version`` uses: same sources, own outputs."""
        return replace(self, derived_prefix=f"{self.prefix}replay-v{version}.")

    @property
    def orders(self) -> str:
        """Orders placed and cancellation requests, keyed by order id."""
        return self._name("orders")

    @property
    def payments(self) -> str:
        """Payment authorizations and declines, keyed by order id."""
        return self._name("payments")

    @property
    def inventory(self) -> str:
        """Stock received and adjusted by the warehouse, keyed by sku."""
        return self._name("inventory")

    @property
    def inventory_commands(self) -> str:
        """Reserve, release and commit commands, keyed by sku."""
        return self._derived("inventory-commands")

    @property
    def inventory_results(self) -> str:
        """Reservation outcomes, keyed by order id."""
        return self._derived("inventory-results")

    @property
    def order_events(self) -> str:
        """Order decisions (confirmed, rejected, cancelled, refunds), keyed by order id."""
        return self._derived("order-events")

    @property
    def shipments(self) -> str:
        """Shipment requests, keyed by order id."""
        return self._derived("shipments")

    @property
    def notifications(self) -> str:
        """Customer notifications, keyed by customer id."""
        return self._derived("notifications")

    @property
    def analytics(self) -> str:
        """Windowed revenue and order counts, keyed by metric."""
        return self._derived("analytics")

    @property
    def dead_letters(self) -> str:
        """Events that could not be applied, with their reason, keyed by original key."""
        return self._derived("dead-letters")

    @property
    def dead_letters_redriven(self) -> str:
        """Which dead letters were sent back to their source topic, keyed by letter."""
        return self._name("dead-letters-redriven")

    def sources(self) -> tuple[str, ...]:
        """Topics the shop's own systems write to."""
        return (self.orders, self.payments, self.inventory)

    def outputs(self) -> tuple[str, ...]:
        """Topics the platform derives."""
        return (
            self.inventory_commands,
            self.inventory_results,
            self.order_events,
            self.shipments,
            self.notifications,
            self.analytics,
            self.dead_letters,
        )

    def all(self) -> tuple[str, ...]:
        """Every topic of the deployment."""
        return self.sources() + self.outputs()
