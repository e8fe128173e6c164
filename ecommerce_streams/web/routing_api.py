"""The routing catalogues over HTTP on every worker: EventBridge rules and SNS subscriptions.

AWS's actions as REST routes, AWS's request fields and answers
(:mod:`ecommerce_streams.routing.actions`), AWS's ``{"__type", "message"}`` for a refusal
(:mod:`ecommerce_streams.web.aws_json`). Any worker answers any route: each reads the
catalogues up to date before it answers, and returns from a change once it has read it
back. Changes need the token (``Access.WRITE``), reads are shop data.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from faust.web import Request, Response, View

from ecommerce_streams.routing.actions import RoutingActions
from ecommerce_streams.routing.writer import CatalogueUnavailable
from ecommerce_streams.web.aws_json import UNAVAILABLE, aws_refusal, aws_request
from ecommerce_streams.web.guard import Access, Endpoint
from ecommerce_streams.worker.app import app
from ecommerce_streams.worker.routing import catalogues
from models.routing.checks import AwsError

logger = logging.getLogger(__name__)

CHANGES = Endpoint(Access.WRITE, accepts=("application/json",), reads=Access.SHOP_DATA)
"""Routes that change a catalogue with a JSON body, and read it with GET."""
READS = Endpoint(Access.SHOP_DATA)

actions: RoutingActions = catalogues
"""What the routes act on (the tests of the HTTP layer put an in-memory one here)."""

Action = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


async def respond(
    view: View, act: Action, request: Request | None = None, *, optional: bool = False
) -> Response:
    """Run ``act`` on the request's JSON object (``{}`` without ``request``): AWS's answer."""
    try:
        document = {} if request is None else await aws_request(request, optional=optional)
        return view.json(await act(document))
    except AwsError as refusal:
        return aws_refusal(view, refusal)
    except CatalogueUnavailable as unavailable:
        logger.warning("routing catalogue unavailable: %s", unavailable)
        retry = AwsError(UNAVAILABLE, "The routing catalogue cannot be reached; retry.")
        return aws_refusal(view, retry)


@app.endpoint("/rules", READS)
class Rules(View):
    """EventBridge's ListRules."""

    async def get(self, request: Request) -> Response:
        """Every rule, by name; ``?NamePrefix=`` keeps those whose name starts with it."""
        prefix = request.query.get("NamePrefix")
        return await respond(self, lambda _: actions.list_rules(prefix))


@app.endpoint("/rules/{name}", CHANGES)
class RuleByName(View):
    """EventBridge's PutRule, DescribeRule and DeleteRule."""

    async def put(self, request: Request, name: str) -> Response:
        """PutRule (``EventPattern``, ``State``, ``Description``): ``{"RuleArn"}``."""
        return await respond(self, lambda body: actions.put_rule(name, body), request)

    async def get(self, request: Request, name: str) -> Response:
        """DescribeRule."""
        return await respond(self, lambda _: actions.describe_rule(name))

    async def delete(self, request: Request, name: str) -> Response:
        """DeleteRule: a rule with targets cannot be deleted."""
        return await respond(self, lambda _: actions.delete_rule(name))


@app.endpoint("/rules/{name}/targets", CHANGES)
class RuleTargets(View):
    """EventBridge's PutTargets, RemoveTargets and ListTargetsByRule."""

    async def put(self, request: Request, name: str) -> Response:
        """PutTargets (``{"Targets": [...]}``): ``FailedEntryCount`` and ``FailedEntries``."""
        return await respond(
            self, lambda body: actions.put_targets(name, body.get("Targets")), request
        )

    async def delete(self, request: Request, name: str) -> Response:
        """RemoveTargets (``{"Ids": [...]}``): ``FailedEntryCount`` and ``FailedEntries``."""
        return await respond(
            self, lambda body: actions.remove_targets(name, body.get("Ids")), request, optional=True
        )

    async def get(self, request: Request, name: str) -> Response:
        """ListTargetsByRule."""
        return await respond(self, lambda _: actions.list_targets(name))


@app.endpoint("/subscriptions", CHANGES)
class Subscriptions(View):
    """SNS's Subscribe and ListSubscriptions."""

    async def post(self, request: Request) -> Response:
        """Subscribe (``TopicArn``, ``Protocol``, ``Endpoint``, ``Attributes``...)."""
        return await respond(self, actions.subscribe, request)

    async def get(self, request: Request) -> Response:
        """ListSubscriptions, by topic then id."""
        return await respond(self, lambda _: actions.list_subscriptions())


@app.endpoint("/subscriptions/{subscription_id}", Endpoint(Access.WRITE))
class SubscriptionById(View):
    """SNS's Unsubscribe."""

    async def delete(self, request: Request, subscription_id: str) -> Response:
        """Unsubscribe the subscription with this id."""
        return await respond(self, lambda _: actions.unsubscribe(subscription_id))
