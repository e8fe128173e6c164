"""The shipped routing examples: high-value confirmed orders to fraud review, French shipments to
their warehouse. The demo installs them and reports what they routed; the chaos runs check
that each matched event reached its target exactly once."""

import json
from dataclasses import dataclass
from typing import Any

from ecommerce_streams.harness.verify.routing import RoutingPlan
from ecommerce_streams.routing.actions import RoutingActions
from ecommerce_streams.topic_names import TopicNames
from models.routing.subscriptions import notification_provider

HIGH_VALUE_RULE = "high-value-orders"
HIGH_VALUE_PATTERN = {
    "source": ["ecommerce-streams.order-events"],
    "detail-type": ["OrderConfirmed"],
    "detail": {"currency": ["EUR"], "total": [{"numeric": [">", 500]}]},
}
"""Every confirmed order over 500 EUR."""
FRENCH_WAREHOUSE_POLICY = {"data": {"lines": {"sku": [{"prefix": "FR-"}]}}}
"""Shipments with at least one line of a sku from the French warehouse (``FR-...``)."""
FRENCH_WAREHOUSE_SUBSCRIPTION = "warehouse-fr"


@dataclass(frozen=True)
class RoutingExamples:
    """The examples of one deployment: the Kafka topics they deliver to."""

    fraud_review: str
    french_warehouse: str

    @classmethod
    def of(cls, names: TopicNames) -> "RoutingExamples":
        """The examples' target topics under the deployment's prefix."""
        return cls(f"{names.prefix}fraud-review", f"{names.prefix}warehouse-fr")

    @property
    def targets(self) -> tuple[str, ...]:
        """Every topic the examples deliver to."""
        return (self.fraud_review, self.french_warehouse)

    def rule(self) -> dict[str, Any]:
        """PutRule's request of the high-value rule."""
        return {
            "EventPattern": json.dumps(HIGH_VALUE_PATTERN),
            "Description": "Confirmed orders over 500 EUR go to fraud review",
        }

    def rule_targets(self) -> list[dict[str, Any]]:
        """PutTargets' entries: the order's id, customer and total, for the reviewers."""
        transformer = {
            "InputPathsMap": {
                "order": "$.detail.order_id",
                "customer": "$.detail.customer_id",
                "total": "$.detail.total",
            },
            "InputTemplate": '{"order_id": <order>, "customer_id": <customer>, "total": <total>}',
        }
        return [
            {
                "Id": "fraud-review",
                "Arn": f"kafka:{self.fraud_review}",
                "InputTransformer": transformer,
            }
        ]

    def subscription(self) -> dict[str, Any]:
        """Subscribe's request of the French warehouse (raw shipments, filtered on the body)."""
        return {
            "SubscriptionId": FRENCH_WAREHOUSE_SUBSCRIPTION,
            "TopicArn": "shipments",
            "Protocol": "kafka",
            "Endpoint": f"kafka:{self.french_warehouse}",
            "Attributes": {
                "FilterPolicy": json.dumps(FRENCH_WAREHOUSE_POLICY),
                "FilterPolicyScope": "MessageBody",
                "RawMessageDelivery": "true",
            },
        }

    async def install(
        self, actions: RoutingActions, *, notification_endpoint: str | None = None
    ) -> RoutingPlan:
        """Put the rule, its target and the subscription (again: the same answers), and the
        notification provider's subscription when there is one.

        Returns every rule and subscription of the catalogues, for the verifier.
        """
        await actions.put_rule(HIGH_VALUE_RULE, self.rule())
        await actions.put_targets(HIGH_VALUE_RULE, self.rule_targets())
        await actions.subscribe(self.subscription())
        if notification_endpoint is not None:
            await actions.subscribe(notification_provider(notification_endpoint))
        return RoutingPlan(
            tuple((await actions.rules.current()).values()),
            tuple((await actions.subscriptions.current()).values()),
            self.targets,
        )
