"""Routing commands: test patterns and policies, and manage the rules and subscriptions catalogues.

``rules test`` and ``subscriptions test`` need no broker. The other commands talk to Kafka
directly through the same catalogue code as the workers (``ES_BROKER``, ``ES_TOPIC_PREFIX``)
and print AWS's answer as JSON; a refusal is AWS's ``{"__type", "message"}`` on stderr
with exit status 1.
"""

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import click

from ecommerce_streams.cli.common import fail, load_settings
from models.routing.checks import AwsError, check_event_pattern, check_filter_policy

if TYPE_CHECKING:
    from ecommerce_streams.routing.actions import RoutingActions


def _print(answer: Callable[[], Any]) -> None:
    """Print the answer as JSON; exit 1 with AWS's error on stderr when refused."""
    try:
        click.echo(json.dumps(answer(), indent=2))
    except AwsError as refused:
        click.echo(json.dumps(refused.body()), err=True)
        sys.exit(1)


def _answer(check: Callable[[Mapping[str, Any]], bool], request: Mapping[str, Any]) -> None:
    """Print the check's result as AWS answers it; exit 1 with AWS's error when refused."""
    _print(lambda: {"Result": check(request)})


def _act(action: Callable[["RoutingActions"], Awaitable[dict[str, Any]]]) -> None:
    """Run one action on the deployment's catalogues (created if missing) and print its answer."""
    from ecommerce_streams.operations.topic_setup import ensure_control_topics
    from ecommerce_streams.routing.actions import open_catalogues
    from ecommerce_streams.routing.writer import CatalogueUnavailable

    settings = load_settings()

    async def run() -> dict[str, Any]:
        names = settings.topics
        await ensure_control_topics(settings.bootstrap, names, replication=settings.replication)
        async with open_catalogues(
            settings.bootstrap,
            names,
            partitions=settings.partitions,
            replication=settings.replication,
        ) as catalogues:
            return await action(catalogues)

    try:
        _print(lambda: asyncio.run(run()))
    except CatalogueUnavailable as unavailable:
        fail(f"the routing catalogue cannot be reached at {settings.bootstrap}: {unavailable}")


def _json_option(text: str) -> Any:
    """A JSON option value, or a usage error."""
    try:
        return json.loads(text)
    except ValueError as error:
        raise click.BadParameter(f"not JSON: {error}") from None


@click.group()
def rules() -> None:
    """EventBridge-style rules: event patterns over our events, and their targets."""


@rules.command("test")
@click.option("--pattern", required=True, help="The event pattern, as JSON.")
@click.option("--event", required=True, help="The event in EventBridge's shape, as JSON.")
def test_rule(pattern: str, event: str) -> None:
    """Whether EVENT matches PATTERN (AWS TestEventPattern), without a worker."""
    _answer(check_event_pattern, {"EventPattern": pattern, "Event": event})


@rules.command("put")
@click.argument("name")
@click.option("--pattern", required=True, help="The event pattern, as JSON.")
@click.option("--state", help="ENABLED (default) or DISABLED.")
@click.option("--description", help="What the rule is for.")
def put_rule(name: str, pattern: str, state: str | None, description: str | None) -> None:
    """Create rule NAME or replace its fields, keeping its targets (AWS PutRule)."""
    request = {"EventPattern": pattern, "State": state, "Description": description}
    given = {field: value for field, value in request.items() if value is not None}
    _act(lambda actions: actions.put_rule(name, given))


@rules.command("list")
@click.option("--prefix", help="Only the rules whose name starts with it.")
def list_rules(prefix: str | None) -> None:
    """Every rule, by name (AWS ListRules)."""
    _act(lambda actions: actions.list_rules(prefix))


@rules.command("describe")
@click.argument("name")
def describe_rule(name: str) -> None:
    """Rule NAME's fields (AWS DescribeRule)."""
    _act(lambda actions: actions.describe_rule(name))


@rules.command("delete")
@click.argument("name")
def delete_rule(name: str) -> None:
    """Delete rule NAME, which must have no targets left (AWS DeleteRule)."""
    _act(lambda actions: actions.delete_rule(name))


@rules.group("targets")
def targets() -> None:
    """A rule's targets: put, remove, list."""


@targets.command("put")
@click.argument("name")
@click.option(
    "--target",
    "entries",
    multiple=True,
    required=True,
    help='One target as JSON, e.g. {"Id": "t1", "Arn": "kafka:orders-out"} (repeatable).',
)
def put_targets(name: str, entries: tuple[str, ...]) -> None:
    """Add or update targets of rule NAME (AWS PutTargets)."""
    given = [_json_option(entry) for entry in entries]
    _act(lambda actions: actions.put_targets(name, given))


@targets.command("remove")
@click.argument("name")
@click.option("--id", "ids", multiple=True, required=True, help="A target id (repeatable).")
def remove_targets(name: str, ids: tuple[str, ...]) -> None:
    """Remove targets of rule NAME by id (AWS RemoveTargets)."""
    _act(lambda actions: actions.remove_targets(name, list(ids)))


@targets.command("list")
@click.argument("name")
def list_targets(name: str) -> None:
    """The targets of rule NAME (AWS ListTargetsByRule)."""
    _act(lambda actions: actions.list_targets(name))


@click.group()
def subscriptions() -> None:
    """SNS-style subscriptions: filter policies over our topics."""


@subscriptions.command("test")
@click.option("--policy", required=True, help="The filter policy, as JSON.")
@click.option(
    "--scope",
    type=click.Choice(["MessageAttributes", "MessageBody"]),
    default="MessageAttributes",
    show_default=True,
)
@click.option("--message", default="", help="The message body.")
@click.option(
    "--attribute",
    "attributes",
    multiple=True,
    help="NAME=TYPE:VALUE, TYPE one of String, Number, String.Array (repeatable).",
)
def test_subscription(policy: str, scope: str, message: str, attributes: tuple[str, ...]) -> None:
    """Whether a message with these attributes passes POLICY, without a worker."""
    typed = {}
    for attribute in attributes:
        name, _, typed_value = attribute.partition("=")
        data_type, _, value = typed_value.partition(":")
        typed[name] = {"DataType": data_type, "StringValue": value}
    request = {
        "FilterPolicy": policy,
        "FilterPolicyScope": scope,
        "Message": message,
        "MessageAttributes": typed,
    }
    _answer(check_filter_policy, request)


@subscriptions.command("add")
@click.option("--topic", required=True, help="Our topic, by role (order-events) or ARN.")
@click.option("--protocol", required=True, help="kafka, http or https.")
@click.option("--endpoint", required=True, help="kafka:<topic> or an http(s) URL.")
@click.option("--policy", help="The filter policy, as JSON.")
@click.option("--scope", help="MessageAttributes (default) or MessageBody.")
@click.option("--raw", is_flag=True, help="Deliver the raw message (RawMessageDelivery).")
@click.option(
    "--id", "subscription_id", help="The subscription id (default: from topic and endpoint)."
)
def add_subscription(
    topic: str,
    protocol: str,
    endpoint: str,
    policy: str | None,
    scope: str | None,
    raw: bool,
    subscription_id: str | None,
) -> None:
    """Subscribe ENDPOINT to TOPIC (AWS Subscribe)."""
    attributes = {"FilterPolicy": policy, "FilterPolicyScope": scope}
    request: dict[str, Any] = {
        "TopicArn": topic,
        "Protocol": protocol,
        "Endpoint": endpoint,
        "Attributes": {
            **{name: value for name, value in attributes.items() if value is not None},
            "RawMessageDelivery": "true" if raw else "false",
        },
    }
    if subscription_id is not None:
        request["SubscriptionId"] = subscription_id
    _act(lambda actions: actions.subscribe(request))


@subscriptions.command("list")
def list_subscriptions() -> None:
    """Every subscription, by topic then id (AWS ListSubscriptions)."""
    _act(lambda actions: actions.list_subscriptions())


@subscriptions.command("delete")
@click.argument("subscription")
def delete_subscription(subscription: str) -> None:
    """Unsubscribe SUBSCRIPTION, by id or ARN (AWS Unsubscribe)."""
    _act(lambda actions: actions.unsubscribe(subscription))
