"""Routing commands: ``rules test`` an event pattern, ``subscriptions test`` a filter policy."""

import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

import click

from models.routing.checks import AwsError, check_event_pattern, check_filter_policy


def _answer(check: Callable[[Mapping[str, Any]], bool], request: Mapping[str, Any]) -> None:
    """Print the check's result as AWS answers it; exit 1 with AWS's error when refused."""
    try:
        click.echo(json.dumps({"Result": check(request)}))
    except AwsError as refused:
        click.echo(json.dumps(refused.body()), err=True)
        sys.exit(1)


@click.group()
def rules() -> None:
    """EventBridge-style rules: event patterns over our events."""


@rules.command("test")
@click.option("--pattern", required=True, help="The event pattern, as JSON.")
@click.option("--event", required=True, help="The event in EventBridge's shape, as JSON.")
def test_rule(pattern: str, event: str) -> None:
    """Whether EVENT matches PATTERN (AWS TestEventPattern), without a worker."""
    _answer(check_event_pattern, {"EventPattern": pattern, "Event": event})


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
