"""Every topic declared once, where every reader finds it.

Source topics carry raw bytes: decoding is ours, so that malformed input becomes a
dead letter instead of an error inside Faust's deserializer.
"""

from faust import TopicT

from ecommerce_streams.worker.app import app, settings
from models.events import Payload
from models.stages import Stage
from models.topics import DERIVED_ROLES, SOURCE_ROLES, TopicRole

names = settings.topics


def raw_topic(name: str) -> TopicT:
    """A topic of raw keys and values (created, if it must be, like ours)."""
    return app.topic(
        name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.partitions,
        replicas=settings.replication,
    )


#: Every topic the platform writes, by role (the sources are read only).
by_role: dict[TopicRole, TopicT] = {
    role: raw_topic(names.name(role)) for role in (*SOURCE_ROLES, *DERIVED_ROLES)
}
order_events = by_role[TopicRole.ORDER_EVENTS]
dead_letters = by_role[TopicRole.DEAD_LETTERS]

app.output_topics = frozenset(names.name(role) for role in DERIVED_ROLES)


def reading(*stages: Stage) -> TopicT:
    """The topics these stages read, as one Faust topic (all keyed alike, raw bytes)."""
    roles = dict.fromkeys(role for stage in stages for role in stage.reads)
    return app.topic(
        *(names.name(role) for role in roles),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )


def destination(payload: Payload) -> TopicT:
    """The topic a derived payload is published to (its class names the role)."""
    return by_role[payload.topic]
