"""Every topic declared once, where every reader finds it.

Source topics carry raw bytes: decoding is ours, so that malformed input becomes a
dead letter instead of an error inside Faust's deserializer.
"""

from faust import TopicT

from ecommerce_streams.worker.app import app, settings
from models.events import Payload

names = settings.topics


def _raw_topic(name: str) -> TopicT:
    return app.topic(
        name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.partitions,
        replicas=settings.replication,
    )


orders = _raw_topic(names.orders)
payments = _raw_topic(names.payments)
inventory = _raw_topic(names.inventory)
inventory_commands = _raw_topic(names.inventory_commands)
inventory_results = _raw_topic(names.inventory_results)
order_events = _raw_topic(names.order_events)
shipments = _raw_topic(names.shipments)
notifications = _raw_topic(names.notifications)
analytics = _raw_topic(names.analytics)
dead_letters = _raw_topic(names.dead_letters)

#: What the orders agent consumes: everything about an order, co-partitioned by order id.
order_inputs = app.topic(
    names.orders,
    names.payments,
    names.inventory_results,
    key_type=bytes,
    value_type=bytes,
    key_serializer="raw",
    value_serializer="raw",
)

#: What the inventory agent consumes: stock movements and commands, keyed by sku.
stock_inputs = app.topic(
    names.inventory,
    names.inventory_commands,
    key_type=bytes,
    value_type=bytes,
    key_serializer="raw",
    value_serializer="raw",
)

_by_base_name: dict[str, TopicT] = {
    "inventory-commands": inventory_commands,
    "inventory-results": inventory_results,
    "order-events": order_events,
    "shipments": shipments,
    "notifications": notifications,
    "analytics": analytics,
}

app.output_topics = frozenset(
    topic.get_topic_name() for topic in (*_by_base_name.values(), dead_letters)
)


def destination(payload: Payload) -> TopicT:
    """The declared topic a derived payload is published to (its class names it)."""
    return _by_base_name[payload.topic]
