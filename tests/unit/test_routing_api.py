"""The routing routes on the worker's real HTTP stack, on in-memory catalogues: AWS's shapes."""

import asyncio
import json
from collections.abc import Iterator

import orjson
import pytest

from ecommerce_streams.routing.writer import CatalogueUnavailable
from ecommerce_streams.web import routing_api
from ecommerce_streams.web.problems import AWS_JSON
from ecommerce_streams.worker.app import app
from tests.unit.routing_samples import HIGH_VALUE
from tests.web_client import call, exchange, problem_of, raw_request
from tests.web_local import memory_actions

PATTERN = json.dumps(HIGH_VALUE)
TARGET = {"Id": "t1", "Arn": "kafka:high-value-orders"}


@pytest.fixture(autouse=True)
def fresh_catalogues() -> Iterator[None]:
    """Empty in-memory catalogues for each test."""
    before = routing_api.actions
    routing_api.actions = memory_actions()
    try:
        yield
    finally:
        routing_api.actions = before


async def test_a_rule_is_put_described_listed_and_deleted_as_eventbridge_answers(
    local_web: str,
) -> None:
    put = await call(local_web, "PUT", "/rules/high-value", {"EventPattern": PATTERN})
    described = await call(local_web, "GET", "/rules/high-value")
    listed = await call(local_web, "GET", "/rules?NamePrefix=high")
    other_prefix = await call(local_web, "GET", "/rules?NamePrefix=low")
    deleted = await call(local_web, "DELETE", "/rules/high-value")
    gone = await call(local_web, "GET", "/rules/high-value")

    arn = "arn:aws:events:local:000000000000:rule/high-value"
    assert put == (200, "application/json", {"RuleArn": arn})
    assert described[2] == {
        "Name": "high-value",
        "Arn": arn,
        "EventPattern": PATTERN,
        "State": "ENABLED",
        "EventBusName": "default",
    }
    assert listed[2] == {"Rules": [described[2]]}
    assert other_prefix[2] == {"Rules": []}
    assert deleted[:2] == (200, "application/json")
    assert gone == (
        404,
        AWS_JSON,
        {"__type": "ResourceNotFoundException", "message": "Rule high-value does not exist."},
    )


async def test_targets_are_put_listed_and_removed(local_web: str) -> None:
    await call(local_web, "PUT", "/rules/high-value", {"EventPattern": PATTERN})

    put = await call(local_web, "PUT", "/rules/high-value/targets", {"Targets": [TARGET]})
    listed = await call(local_web, "GET", "/rules/high-value/targets")
    undeletable = await call(local_web, "DELETE", "/rules/high-value")
    removed = await call(local_web, "DELETE", "/rules/high-value/targets", {"Ids": ["t1"]})

    assert put[2] == {"FailedEntryCount": 0, "FailedEntries": []}
    assert listed[2] == {"Targets": [TARGET]}
    assert undeletable[:2] == (400, AWS_JSON)
    assert undeletable[2]["__type"] == "ValidationException"
    assert removed[2] == {"FailedEntryCount": 0, "FailedEntries": []}
    assert (await call(local_web, "GET", "/rules/high-value/targets"))[2] == {"Targets": []}


async def test_a_subscription_is_added_listed_and_deleted(local_web: str) -> None:
    request = {"TopicArn": "order-events", "Protocol": "kafka", "Endpoint": "kafka:audit"}

    status, _, added = await call(local_web, "POST", "/subscriptions", request)
    _, _, listed = await call(local_web, "GET", "/subscriptions")
    subscription_id = added["SubscriptionArn"].rsplit(":", 1)[-1]
    deleted = await call(local_web, "DELETE", f"/subscriptions/{subscription_id}")
    again = await call(local_web, "DELETE", f"/subscriptions/{subscription_id}")

    assert status == 200
    assert [s["SubscriptionArn"] for s in listed["Subscriptions"]] == [added["SubscriptionArn"]]
    assert deleted[0] == 200
    assert again == (
        404,
        AWS_JSON,
        {"__type": "NotFoundException", "message": "Subscription does not exist"},
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "aws_type"),
    [
        ("PUT", "/rules/r1", {"EventPattern": "{not json"}, "InvalidEventPatternException"),
        ("PUT", "/rules/r1", {}, "ValidationException"),
        ("PUT", "/rules/r1", {"EventPattern": PATTERN, "State": "ON"}, "ValidationException"),
        ("PUT", "/rules/r1", [1], "SerializationException"),
        ("PUT", "/rules/r1/targets", {"Targets": [TARGET]}, "ResourceNotFoundException"),
        ("DELETE", "/rules/r1/targets", {"Ids": ["t1"]}, "ResourceNotFoundException"),
        ("POST", "/subscriptions", {"TopicArn": "nowhere"}, "NotFoundException"),
        (
            "POST",
            "/subscriptions",
            {"TopicArn": "shipments", "Protocol": "sms"},
            "InvalidParameterException",
        ),
    ],
)
async def test_a_refused_request_is_answered_in_aws_s_shape(
    local_web: str, method: str, path: str, body: object, aws_type: str
) -> None:
    status, content_type, answer = await call(local_web, method, path, body)

    assert content_type == AWS_JSON
    assert answer["__type"] == aws_type and answer["message"]
    assert status == (404 if aws_type.endswith("NotFoundException") else 400)


async def test_a_body_that_is_not_json_is_a_serialization_exception(local_web: str) -> None:
    request = raw_request("PUT", "/rules/r1", {"Content-Type": "application/json"}, b"\xff{")

    status, headers, body = await asyncio.to_thread(exchange, local_web, request)

    assert (status, headers.get_content_type()) == (400, AWS_JSON)
    assert orjson.loads(body)["__type"] == "SerializationException"


async def test_a_rule_name_that_is_no_identifier_never_reaches_the_catalogue(
    local_web: str,
) -> None:
    request = raw_request("GET", "/rules/a%2Fb", {})

    _, headers, body = await asyncio.to_thread(exchange, local_web, request)

    assert problem_of(400, headers, body)["title"] == "Invalid identifier"


async def test_an_unreachable_catalogue_is_a_503_to_retry(
    local_web: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable() -> dict[str, str]:
        raise CatalogueUnavailable("no broker")

    monkeypatch.setattr(routing_api.actions.rules, "current", unreachable)

    status, content_type, answer = await call(local_web, "GET", "/rules")

    assert (status, content_type) == (503, AWS_JSON)
    assert answer["__type"] == "ServiceUnavailableException"


async def test_changes_need_the_token_and_reads_follow_the_reads_setting(local_web: str) -> None:
    guard = app.guard
    guard.token = "s3cret"
    try:
        refused = await call(local_web, "PUT", "/rules/r1", {"EventPattern": PATTERN})
        allowed = await call(
            local_web, "PUT", "/rules/r1", {"EventPattern": PATTERN}, token="s3cret"
        )
        read = await call(local_web, "GET", "/rules/r1")
        unsubscribe = await call(local_web, "DELETE", "/subscriptions/s-1")
    finally:
        guard.token = None

    assert refused[0] == unsubscribe[0] == 401
    assert allowed[0] == read[0] == 200
