"""The stages of the saga: what each reads and writes, which tables it keeps, how it decides.

Every stage decides the same way: ``decide(tables, event) -> derived events``, where
``tables`` maps each of the stage's table names to a mutable mapping (a Faust table in a
worker, a dict in a test). A stage may only derive events for the topics it declares.
:func:`judge` is what every input message goes through before and around the decision
(decode, key check, deduplication), the same in a worker and in a test.
"""

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from models import analytics, notification, order, stock
from models.envelope import Envelope, InvalidEvent, decode_event
from models.refusal import Refused
from models.topics import TopicRole

Tables = Mapping[str, MutableMapping[Any, Any]]
"""A stage's tables by name."""


class UndeclaredOutput(RuntimeError):
    """A stage derived an event for a topic it does not declare: a bug, never bad input."""


@dataclass(frozen=True)
class KeptIds:
    """Inputs whose repeats a stage's own state recognises, so they need no ``seen`` record:
    the state change that applies such an event keeps its id."""

    of: tuple[TopicRole, ...]
    applied: Callable[[Tables, Envelope], bool]
    """Whether the state shows this event applied already."""


@dataclass(frozen=True)
class Stage:
    """One agent's part of the saga."""

    name: str
    reads: tuple[TopicRole, ...]
    writes: tuple[TopicRole, ...]
    tables: tuple[str, ...]
    decide: Callable[[Tables, Envelope], list[Envelope]]
    kept_ids: KeptIds | None = None

    def keeps_id(self, event: Envelope) -> bool:
        """Whether the stage's state keeps this event's id, so ``seen`` need not."""
        return self.kept_ids is not None and event.data.topic in self.kept_ids.of

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


@dataclass(frozen=True)
class Verdict:
    """What one input message comes to: derived events, a dead letter, or nothing at all."""

    event: Envelope | None = None
    derived: tuple[Envelope, ...] = ()
    #: (category, reason) when the message must be dead-lettered instead.
    set_aside: tuple[str, str] | None = None
    #: The event id was applied before: the message changes nothing.
    duplicate: bool = False


def judge(
    stage: Stage,
    tables: Tables,
    key: bytes | None,
    value: bytes | None,
    applied: Callable[[UUID], bool],
) -> Verdict:
    """Decode, check the key, skip an event applied already, decide: one input's verdict.

    Whether it was applied the stage's state tells for the events it keeps the ids of
    (``Stage.keeps_id``), ``applied`` for the others.
    """
    if value is None:
        return Verdict(set_aside=("invalid", "the message has no value (a tombstone)"))
    try:
        event = decode_event(value)
    except InvalidEvent as invalid:
        return Verdict(set_aside=("invalid", invalid.reason))
    text = key.decode(errors="replace") if key is not None else None
    if text != event.data.key:
        reason = f"message key {text!r} does not match {event.event_type} key {event.data.key!r}"
        return Verdict(event=event, set_aside=("misrouted", reason))
    kept = stage.kept_ids if stage.keeps_id(event) else None
    if kept.applied(tables, event) if kept is not None else applied(event.event_id):
        return Verdict(event=event, duplicate=True)
    try:
        derived = stage.apply(tables, event)
    except Refused as refused:
        return Verdict(event=event, set_aside=("refused", refused.reason))
    return Verdict(event=event, derived=tuple(derived))


def _advance_order(tables: Tables, event: Envelope) -> list[Envelope]:
    """Advance the order's saga by one event and store its new state."""
    orders = tables["orders"]
    order_id = event.data.key
    state, derived = order.apply(orders.get(order_id), event)
    orders[order_id] = state
    return derived


def _order_has_applied(tables: Tables, event: Envelope) -> bool:
    """Whether the order's state shows this event of the shop applied already."""
    state = tables["orders"].get(event.data.key)
    return state is not None and state.has_applied(event.event_id)


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
    kept_ids=KeptIds(of=order.SHOP_INPUTS, applied=_order_has_applied),
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


def _route_only(tables: Tables, event: Envelope) -> list[Envelope]:
    return []


ROUTING = Stage(
    name="routing",
    reads=(TopicRole.SHIPMENTS, TopicRole.NOTIFICATIONS),
    writes=(),
    tables=(),
    decide=_route_only,
)
"""The reader of the routed topics no saga stage reads: it decides nothing, the router
(``ecommerce_streams/worker/routing.py``) delivers what it applies."""

#: Every stage of the saga, in the order an order's events flow through them.
STAGES = (ORDERS, INVENTORY, NOTIFICATIONS, ANALYTICS)

#: Every stage an agent runs: the saga's and the router's reader.
AGENT_STAGES = (*STAGES, ROUTING)
