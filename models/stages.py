"""The stages of the saga: what each reads and writes, which tables it keeps, how it decides.

Every stage decides the same way: ``decide(tables, event) -> derived events``, where
``tables`` maps each of the stage's table names to a mutable mapping (a Faust table in a
worker, a dict in a test). A stage may only derive events for the topics it declares.
"""

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from models import analytics, notification, order, stock
from models.envelope import Envelope
from models.topics import TopicRole

Tables = Mapping[str, MutableMapping[Any, Any]]
"""A stage's tables by name."""


class UndeclaredOutput(RuntimeError):
    """A stage derived an event for a topic it does not declare: a bug, never bad input."""


@dataclass(frozen=True)
class Stage:
    """One agent's part of the saga."""

    name: str
    reads: tuple[TopicRole, ...]
    writes: tuple[TopicRole, ...]
    tables: tuple[str, ...]
    decide: Callable[[Tables, Envelope], list[Envelope]]

    def apply(self, tables: Tables, event: Envelope) -> list[Envelope]:
        """Decide, refusing any derived event for a topic this stage does not write."""
        derived = self.decide(tables, event)
        for output in derived:
            if output.data.topic not in self.writes:
                raise UndeclaredOutput(
                    f"stage {self.name!r} derived {output.event_type} for "
                    f"{output.data.topic!r}, which it does not declare in writes={self.writes}"
                )
        return derived


def _advance_order(tables: Tables, event: Envelope) -> list[Envelope]:
    """Advance the order's saga by one event and store its new state."""
    orders = tables["orders"]
    order_id = event.data.key
    state, derived = order.apply(orders.get(order_id), event)
    orders[order_id] = state
    return derived


def _move_stock(tables: Tables, event: Envelope) -> list[Envelope]:
    return stock.decide(tables["stock"], tables["reservations"], event)


def _notify(tables: Tables, event: Envelope) -> list[Envelope]:
    return notification.notify(event)


def _count(tables: Tables, event: Envelope) -> list[Envelope]:
    return analytics.record(tables["windows"], event)


ORDERS = Stage(
    name="orders",
    reads=(TopicRole.ORDERS, TopicRole.PAYMENTS, TopicRole.INVENTORY_RESULTS),
    writes=(TopicRole.ORDER_EVENTS, TopicRole.SHIPMENTS, TopicRole.INVENTORY_COMMANDS),
    tables=("orders",),
    decide=_advance_order,
)
INVENTORY = Stage(
    name="inventory",
    reads=(TopicRole.INVENTORY, TopicRole.INVENTORY_COMMANDS),
    writes=(TopicRole.INVENTORY_RESULTS,),
    tables=("stock", "reservations"),
    decide=_move_stock,
)
NOTIFICATIONS = Stage(
    name="notifications",
    reads=(TopicRole.ORDER_EVENTS,),
    writes=(TopicRole.NOTIFICATIONS,),
    tables=(),
    decide=_notify,
)
ANALYTICS = Stage(
    name="analytics",
    reads=(TopicRole.ORDER_EVENTS,),
    writes=(TopicRole.ANALYTICS,),
    tables=("windows",),
    decide=_count,
)

#: Every stage of the saga, in the order an order's events flow through them.
STAGES = (ORDERS, INVENTORY, NOTIFICATIONS, ANALYTICS)
