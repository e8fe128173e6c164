"""TestEventPattern and the filter-policy test, from AWS's request bodies (pure, then over HTTP)."""

import asyncio
import json
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from ecommerce_streams.cli import main
from models.routing.checks import AwsError, check_event_pattern, check_filter_policy
from tests.unit.routing_samples import EVENT, HIGH_VALUE
from tests.web_client import exchange, raw_request


def pattern_request(pattern: object, event: object = EVENT) -> dict[str, Any]:
    """A TestEventPattern body: the pattern and the event, each as a JSON string."""
    return {"EventPattern": json.dumps(pattern), "Event": json.dumps(event)}


def refusal(check: Any, request: dict[str, Any]) -> AwsError:
    """The error a check raises for the request."""
    with pytest.raises(AwsError) as raised:
        check(request)
    return raised.value


def test_a_high_value_confirmed_order_matches_its_rule() -> None:
    assert check_event_pattern(pattern_request(HIGH_VALUE)) is True
    low = {**EVENT, "detail": {**EVENT["detail"], "total": 12}}  # type: ignore[dict-item]
    assert check_event_pattern(pattern_request(HIGH_VALUE, low)) is False


def test_an_invalid_pattern_is_refused_with_awss_exception_and_reason() -> None:
    error = refusal(check_event_pattern, pattern_request({"source": "web"}))
    assert error.body() == {
        "__type": "InvalidEventPatternException",
        "message": 'Event pattern is not valid. Reason: "source" must be an object or an array',
    }


def test_an_event_without_its_mandatory_fields_is_refused() -> None:
    event = {key: value for key, value in EVENT.items() if key not in ("account", "region")}
    error = refusal(check_event_pattern, pattern_request(HIGH_VALUE, event))
    assert error.aws_type == "InvalidEventPatternException"
    assert error.message.endswith("missing required fields: account, region")


def test_a_missing_or_mistyped_request_field_is_a_validation_exception() -> None:
    assert refusal(check_event_pattern, {"Event": "{}"}).aws_type == "ValidationException"
    wrong = {"EventPattern": {"source": ["web"]}, "Event": json.dumps(EVENT)}
    assert "eventPattern" in refusal(check_event_pattern, wrong).message


def test_a_warehouse_subscription_passes_only_its_sku_prefix() -> None:
    request = {
        "FilterPolicy": json.dumps({"sku": [{"prefix": "FR-"}]}),
        "FilterPolicyScope": "MessageBody",
        "Message": json.dumps({"sku": "FR-0042", "qty": 2}),
    }
    assert check_filter_policy(request) is True
    assert check_filter_policy({**request, "Message": json.dumps({"sku": "DE-1"})}) is False


def test_message_attributes_are_typed_as_sns_sends_them() -> None:
    request = {
        "FilterPolicy": json.dumps({"total": [{"numeric": [">=", 100]}], "shop": ["web"]}),
        "Message": "anything",
        "MessageAttributes": {
            "total": {"DataType": "Number", "StringValue": "250"},
            "shop": {"DataType": "String", "StringValue": "web"},
        },
    }
    assert check_filter_policy(request) is True
    request["MessageAttributes"]["total"]["StringValue"] = "99.5"
    assert check_filter_policy(request) is False


def test_an_invalid_policy_scope_or_attribute_type_is_an_invalid_parameter() -> None:
    too_many = {"FilterPolicy": json.dumps({k: ["x"] for k in "abcdef"})}
    assert refusal(check_filter_policy, too_many).body() == {
        "__type": "InvalidParameterException",
        "message": "Invalid parameter: FilterPolicy: Filter policy can not have more than 5 keys",
    }
    scope = {"FilterPolicy": "{}", "FilterPolicyScope": "Headers"}
    assert refusal(check_filter_policy, scope).aws_type == "InvalidParameterException"
    typed = {"FilterPolicy": "{}", "MessageAttributes": {"a": {"DataType": "Float"}}}
    assert "invalid message attribute type" in refusal(check_filter_policy, typed).message


async def post(url: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """POST a JSON body to the in-process worker; its status and decoded answer."""
    headers = {"Content-Type": "application/json"}
    request = raw_request("POST", path, headers, body)
    status, _, answer = await asyncio.to_thread(exchange, url, request)
    return status, orjson.loads(answer)


async def test_the_worker_answers_test_event_pattern_over_http(local_web: str) -> None:
    body = orjson.dumps(pattern_request(HIGH_VALUE))
    assert await post(local_web, "/rules/test-event-pattern", body) == (200, {"Result": True})

    status, answer = await post(
        local_web, "/rules/test-event-pattern", orjson.dumps(pattern_request({"a": 1}))
    )
    assert status == 400 and answer["__type"] == "InvalidEventPatternException"


async def test_the_worker_answers_the_filter_policy_test_over_http(local_web: str) -> None:
    request = {"FilterPolicy": '{"shop": ["web"]}', "Message": "", "MessageAttributes": {}}
    assert await post(local_web, "/subscriptions/test-filter-policy", orjson.dumps(request)) == (
        200,
        {"Result": False},
    )


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
async def test_a_body_that_is_no_json_object_is_a_400_not_a_crash(
    local_web: str, body: bytes
) -> None:
    status, answer = await post(local_web, "/rules/test-event-pattern", body)
    assert status == 400 and answer["__type"] == "SerializationException"


def test_the_command_line_tests_a_rule_and_a_subscription_without_a_worker() -> None:
    runner = CliRunner()
    rule = runner.invoke(
        main, ["rules", "test", "--pattern", json.dumps(HIGH_VALUE), "--event", json.dumps(EVENT)]
    )
    assert (rule.exit_code, json.loads(rule.output)) == (0, {"Result": True})

    policy = json.dumps({"sku": [{"prefix": "FR-"}]})
    args = ["subscriptions", "test", "--policy", policy, "--attribute", "sku=String:FR-9"]
    passed = runner.invoke(main, args)
    assert (passed.exit_code, json.loads(passed.output)) == (0, {"Result": True})

    refused = runner.invoke(main, ["subscriptions", "test", "--policy", '{"sku": "FR-"}'])
    assert refused.exit_code == 1
    assert json.loads(refused.stderr)["__type"] == "InvalidParameterException"
