"""Every topic of the platform by its role: the one list, from which every name is derived."""

from enum import StrEnum


class TopicRole(StrEnum):
    """What a topic carries; the value is its base name (a deployment may prefix it)."""

    ORDERS = "orders"
    PAYMENTS = "payments"
    INVENTORY = "inventory"
    INVENTORY_COMMANDS = "inventory-commands"
    INVENTORY_RESULTS = "inventory-results"
    ORDER_EVENTS = "order-events"
    SHIPMENTS = "shipments"
    NOTIFICATIONS = "notifications"
    ANALYTICS = "analytics"
    DEAD_LETTERS = "dead-letters"
    HTTP_DELIVERIES = "http-deliveries"
    DEAD_LETTERS_REDRIVEN = "dead-letters-redriven"
    ROUTING_RULES = "routing-rules"
    ROUTING_SUBSCRIPTIONS = "routing-subscriptions"
    QUEUE_STATE = "queue-state"


#: Written by the shop's own systems: orders, payments, stock movements.
SOURCE_ROLES = (TopicRole.ORDERS, TopicRole.PAYMENTS, TopicRole.INVENTORY)

#: Written by the agents, in the transaction of the input that caused them.
DERIVED_ROLES = (
    TopicRole.INVENTORY_COMMANDS,
    TopicRole.INVENTORY_RESULTS,
    TopicRole.ORDER_EVENTS,
    TopicRole.SHIPMENTS,
    TopicRole.NOTIFICATIONS,
    TopicRole.ANALYTICS,
    TopicRole.DEAD_LETTERS,
    TopicRole.HTTP_DELIVERIES,
)

#: The platform's outcomes, offered to the routing rules and subscriptions as they are written.
#: Source topics are not routed: they may carry an event twice, the derived ones never do.
ROUTED_ROLES = (TopicRole.ORDER_EVENTS, TopicRole.SHIPMENTS, TopicRole.NOTIFICATIONS)

#: Derived topics of routed deliveries (not shop events): each record is one delivery to an
#: HTTP endpoint, keyed like its event, its endpoint and route in its headers.
DELIVERY_ROLES = (TopicRole.HTTP_DELIVERIES,)

#: Compacted catalogues that configure the platform, keyed by rule name or subscription id,
#: and the queues' state, keyed by queue and message: they carry no events, so a replay
#: reads the live ones and never copies them.
CONTROL_ROLES = (TopicRole.ROUTING_RULES, TopicRole.ROUTING_SUBSCRIPTIONS, TopicRole.QUEUE_STATE)
