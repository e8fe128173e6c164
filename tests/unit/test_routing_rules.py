"""EventBridge rules and targets: PutRule, PutTargets, RemoveTargets, DeleteRule, Describe, List."""

import json
from typing import Any

import pytest

from models.routing.checks import AwsError
from models.routing.rules import (
    Destination,
    DestinationKind,
    Rule,
    RuleState,
    Target,
    delete_rule,
    describe_rule,
    list_rules,
    list_targets_by_rule,
    parse_destination,
    put_rule,
    put_targets,
    remove_targets,
    rule_from_bytes,
    rule_to_bytes,
)
from tests.unit.routing_samples import EVENT
from tests.unit.routing_samples import HIGH_VALUE as HIGH_VALUE_PATTERN

HIGH_VALUE = json.dumps(HIGH_VALUE_PATTERN)


def refusal(action: Any, *args: Any) -> AwsError:
    """The AwsError an action raises."""
    with pytest.raises(AwsError) as raised:
        action(*args)
    return raised.value


def with_rule(**fields: Any) -> dict[str, Rule]:
    """A rule set holding the high-value rule (PutRule's fields overridable)."""
    rules, _ = put_rule({}, {"Name": "high-value-orders", "EventPattern": HIGH_VALUE, **fields})
    return rules


def kafka_target(target_id: str, **fields: Any) -> dict[str, Any]:
    """A PutTargets entry sending to a Kafka topic."""
    return {"Id": target_id, "Arn": f"kafka:{target_id}", **fields}


def test_put_rule_creates_an_enabled_rule_that_matches_its_pattern() -> None:
    rules, rule = put_rule({}, {"Name": "high-value-orders", "EventPattern": HIGH_VALUE})
    assert rules == {"high-value-orders": rule}
    assert rule.state is RuleState.ENABLED
    assert rule.arn == "arn:aws:events:local:000000000000:rule/high-value-orders"
    assert rule.matches(EVENT)
    assert not rule.matches({**EVENT, "detail": {"total": 12}})


def test_a_disabled_rule_matches_nothing() -> None:
    rule = with_rule(State="DISABLED")["high-value-orders"]
    assert rule.state is RuleState.DISABLED
    assert not rule.matches(EVENT)


def test_put_rule_leaves_the_rule_set_it_was_given_untouched() -> None:
    before: dict[str, Rule] = {}
    put_rule(before, {"Name": "r", "EventPattern": HIGH_VALUE})
    assert before == {}


def test_put_rule_replaces_the_rules_fields_but_keeps_its_targets() -> None:
    rules, _ = put_targets(with_rule(Description="old"), "high-value-orders", [kafka_target("t1")])
    rules, rule = put_rule(
        rules, {"Name": "high-value-orders", "EventPattern": '{"source": ["x"]}'}
    )
    assert rule.description == ""
    assert rule.event_pattern == '{"source": ["x"]}'
    assert [target.id for target in rule.targets] == ["t1"]


@pytest.mark.parametrize(
    ("name", "constraint"),
    [
        ("has space", r"Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+"),
        ("r" * 65, "Member must have length less than or equal to 64"),
        (None, "Member must not be null"),
    ],
)
def test_a_rule_name_outside_awss_constraint_is_refused(name: object, constraint: str) -> None:
    error = refusal(put_rule, {}, {"Name": name, "EventPattern": HIGH_VALUE})
    assert error.aws_type == "ValidationException"
    assert error.message == (
        f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: "
        f"{constraint}"
    )


def test_a_rule_needs_an_event_pattern() -> None:
    error = refusal(put_rule, {}, {"Name": "r"})
    assert error.body() == {
        "__type": "ValidationException",
        "message": "Parameter(s) EventPattern or ScheduleExpression must be specified.",
    }


def test_an_invalid_event_pattern_is_refused_with_awss_reason() -> None:
    error = refusal(put_rule, {}, {"Name": "r", "EventPattern": '{"source": "web"}'})
    assert error.body() == {
        "__type": "InvalidEventPatternException",
        "message": 'Event pattern is not valid. Reason: "source" must be an object or an array',
    }


def test_state_and_description_are_checked() -> None:
    state = refusal(put_rule, {}, {"Name": "r", "EventPattern": HIGH_VALUE, "State": "ON"})
    assert "Member must satisfy enum value set: [ENABLED, DISABLED]" in state.message
    long = {"Name": "r", "EventPattern": HIGH_VALUE, "Description": "d" * 513}
    assert "length less than or equal to 512" in refusal(put_rule, {}, long).message
    assert with_rule(Description="d" * 512)["high-value-orders"].description == "d" * 512


def test_describe_rule_answers_awss_shape() -> None:
    rules = with_rule(Description="Orders above 500", State="DISABLED")
    assert describe_rule(rules, "high-value-orders") == {
        "Name": "high-value-orders",
        "Arn": "arn:aws:events:local:000000000000:rule/high-value-orders",
        "EventPattern": HIGH_VALUE,
        "State": "DISABLED",
        "Description": "Orders above 500",
        "EventBusName": "default",
    }


def test_every_action_on_a_missing_rule_is_resource_not_found() -> None:
    expected = {"__type": "ResourceNotFoundException", "message": "Rule nope does not exist."}
    assert refusal(describe_rule, {}, "nope").body() == expected
    assert refusal(put_targets, {}, "nope", [kafka_target("t")]).body() == expected
    assert refusal(remove_targets, {}, "nope", ["t"]).body() == expected
    assert refusal(delete_rule, {}, "nope").body() == expected
    assert refusal(list_targets_by_rule, {}, "nope").body() == expected


def test_list_rules_filters_by_name_prefix_in_name_order() -> None:
    rules: dict[str, Rule] = {}
    for name in ("orders-b", "payments", "orders-a"):
        rules, _ = put_rule(rules, {"Name": name, "EventPattern": HIGH_VALUE})
    assert [r["Name"] for r in list_rules(rules)["Rules"]] == ["orders-a", "orders-b", "payments"]
    assert [r["Name"] for r in list_rules(rules, "orders-")["Rules"]] == ["orders-a", "orders-b"]


def test_put_targets_adds_targets_and_answers_no_failures() -> None:
    entries = [
        kafka_target("to-kafka"),
        {"Id": "to-web", "Arn": "https://hooks.example.com/orders", "InputPath": "$.detail"},
    ]
    rules, answer = put_targets(with_rule(), "high-value-orders", entries)
    assert answer == {"FailedEntryCount": 0, "FailedEntries": []}
    assert list_targets_by_rule(rules, "high-value-orders") == {"Targets": entries}
    web = rules["high-value-orders"].targets[1]
    assert web.destination == Destination(DestinationKind.HTTPS, "https://hooks.example.com/orders")


def test_put_targets_with_a_known_id_updates_that_target() -> None:
    rules, _ = put_targets(with_rule(), "high-value-orders", [kafka_target("t1")])
    rules, _ = put_targets(rules, "high-value-orders", [kafka_target("t1", Input='{"a": 1}')])
    (target,) = rules["high-value-orders"].targets
    assert target.input == '{"a": 1}'


def test_each_target_that_cannot_be_added_is_a_failed_entry() -> None:
    entries = [
        kafka_target("good"),
        {"Id": "bad-arn", "Arn": "sqs:queue"},
        kafka_target("two-inputs", Input="{}", InputPath="$.detail"),
        kafka_target("bad-input", Input="not json"),
        {"Id": "bad id", "Arn": "kafka:x"},
    ]
    rules, answer = put_targets(with_rule(), "high-value-orders", entries)
    assert [target.id for target in rules["high-value-orders"].targets] == ["good"]
    assert answer["FailedEntryCount"] == 4
    failed = {entry["TargetId"]: entry for entry in answer["FailedEntries"]}
    assert set(failed) == {"bad-arn", "two-inputs", "bad-input", "bad id"}
    assert all(entry["ErrorCode"] == "ValidationException" for entry in failed.values())
    assert failed["two-inputs"]["ErrorMessage"] == (
        "Target two-inputs: Only one of Input, InputPath, or InputTransformer must be provided."
    )
    assert "Member must satisfy regular expression pattern" in failed["bad id"]["ErrorMessage"]


def test_a_targets_retry_policy_is_kept_stored_and_listed() -> None:
    limits = {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600}
    web = {"Id": "web", "Arn": "https://hooks.example.com/orders", "RetryPolicy": limits}
    rules, answer = put_targets(with_rule(), "high-value-orders", [web])

    stored = rule_from_bytes(rule_to_bytes(rules["high-value-orders"]))

    assert answer["FailedEntryCount"] == 0
    assert list_targets_by_rule(rules, "high-value-orders") == {"Targets": [web]}
    assert stored is not None and stored.targets[0].retry_policy == limits


@pytest.mark.parametrize(
    ("limits", "reason"),
    [
        ({"MaximumRetryAttempts": 186}, "MaximumRetryAttempts must be 0..185"),
        ({"MaximumEventAgeInSeconds": 59}, "MaximumEventAgeInSeconds must be 60..86400"),
        ({"MaximumRetryAttempts": "3"}, "MaximumRetryAttempts must be an integer"),
        ({"Retries": 3}, "unknown RetryPolicy fields: Retries"),
        ([3], "RetryPolicy must be an object"),
    ],
)
def test_a_retry_policy_outside_awss_bounds_is_a_failed_entry(limits: object, reason: str) -> None:
    web = {"Id": "web", "Arn": "https://hooks.example.com/orders", "RetryPolicy": limits}
    _, answer = put_targets(with_rule(), "high-value-orders", [web])

    [failed] = answer["FailedEntries"]
    assert failed["ErrorCode"] == "ValidationException"
    assert failed["ErrorMessage"].startswith(f"Target web: RetryPolicy: {reason}")


def test_a_rule_with_more_than_five_targets_is_limit_exceeded() -> None:
    rules, _ = put_targets(
        with_rule(), "high-value-orders", [kafka_target(f"t{n}") for n in range(5)]
    )
    error = refusal(put_targets, rules, "high-value-orders", [kafka_target("t5")])
    assert error.aws_type == "LimitExceededException"
    replaced, _ = put_targets(rules, "high-value-orders", [kafka_target("t4", Input="1")])
    assert len(replaced["high-value-orders"].targets) == 5


def test_a_put_targets_request_holds_one_to_ten_entries() -> None:
    many = [kafka_target(f"t{n}") for n in range(11)]
    for targets in (many, []):
        error = refusal(put_targets, with_rule(), "high-value-orders", targets)
        assert error.aws_type == "ValidationException"
        assert "Member must have length between 1 and 10" in error.message


def test_remove_targets_drops_the_named_targets_and_ignores_unknown_ids() -> None:
    rules, _ = put_targets(with_rule(), "high-value-orders", [kafka_target("a"), kafka_target("b")])
    rules, answer = remove_targets(rules, "high-value-orders", ["a", "unknown"])
    assert answer == {"FailedEntryCount": 0, "FailedEntries": []}
    assert [target.id for target in rules["high-value-orders"].targets] == ["b"]


def test_a_rule_with_targets_cannot_be_deleted() -> None:
    rules, _ = put_targets(with_rule(), "high-value-orders", [kafka_target("a")])
    assert refusal(delete_rule, rules, "high-value-orders").body() == {
        "__type": "ValidationException",
        "message": "Rule can't be deleted since it has targets.",
    }
    rules, _ = remove_targets(rules, "high-value-orders", ["a"])
    assert delete_rule(rules, "high-value-orders") == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kafka:order-events", Destination(DestinationKind.KAFKA, "order-events")),
        ("kafka:a.b_c-D9", Destination(DestinationKind.KAFKA, "a.b_c-D9")),
        (
            "http://localhost:8080/hook",
            Destination(DestinationKind.HTTP, "http://localhost:8080/hook"),
        ),
        ("https://example.com", Destination(DestinationKind.HTTPS, "https://example.com")),
    ],
)
def test_a_destination_is_a_kafka_topic_or_an_http_endpoint(
    text: str, expected: Destination
) -> None:
    assert parse_destination(text) == expected
    assert parse_destination(text).text == text


@pytest.mark.parametrize(
    "text",
    [
        "kafka:",
        "kafka:.",
        "kafka:..",
        "kafka:has space",
        "kafka:" + "t" * 250,
        "ftp://example.com",
        "https://",
        "https://example.com:99999/",
        "https://exa mple.com/",
        "arn:aws:sqs:us-east-1:1:queue",
    ],
)
def test_a_destination_outside_kafkas_and_https_constraints_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_destination(text)


def test_a_kafka_topic_name_may_be_249_characters() -> None:
    assert parse_destination("kafka:" + "t" * 249).address == "t" * 249


def test_a_target_renders_the_input_transformer_with_its_rules_reserved_variables() -> None:
    transformer = {
        "InputPathsMap": {"order": "$.detail.order_id"},
        "InputTemplate": '{"order": <order>, "rule": <aws.events.rule-name>}',
    }
    entry = kafka_target("notify", InputTransformer=transformer)
    rules, _ = put_targets(with_rule(), "high-value-orders", [entry])
    rule = rules["high-value-orders"]
    output = rule.targets[0].render(EVENT, rule.delivery("2026-11-30T03:00:01Z"))
    assert json.loads(output) == {"order": "o-1", "rule": "high-value-orders"}


def test_a_rule_round_trips_through_its_record_bytes() -> None:
    entries = [
        kafka_target("a", Input='{"constant": true}'),
        kafka_target("b", InputPath="$.detail"),
        kafka_target("c", InputTransformer={"InputTemplate": '"<aws.events.rule-name>"'}),
        {"Id": "d", "Arn": "http://localhost:9000/hook"},
    ]
    rules, _ = put_targets(with_rule(Description="big"), "high-value-orders", entries)
    rule = rules["high-value-orders"]
    raw = rule_to_bytes(rule)
    assert rule_from_bytes(raw) == rule
    assert json.loads(raw)["Targets"] == entries


def test_a_rule_built_directly_is_checked_like_put_rule() -> None:
    rule = Rule("r", HIGH_VALUE, targets=(Target("x", "kafka:x"),))
    assert rule_from_bytes(rule_to_bytes(rule)) == rule
    assert refusal(Rule, "r", '{"source": "web"}').aws_type == "InvalidEventPatternException"
    six = tuple(Target(f"t{n}", "kafka:t") for n in range(6))
    assert refusal(Rule, "r", HIGH_VALUE, RuleState.ENABLED, "", six).aws_type == (
        "LimitExceededException"
    )


def test_a_tombstone_is_a_deleted_rule() -> None:
    assert rule_from_bytes(None) is None
