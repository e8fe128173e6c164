"""The routing catalogues without a broker: records applied, actions written as one record each."""

import json
from typing import Any

import pytest

from ecommerce_streams.operations.topic_setup import CONTROL_PARTITIONS, _missing_controls
from ecommerce_streams.routing.actions import RULES, SUBSCRIPTIONS, RoutingActions
from ecommerce_streams.routing.catalogue import Catalogue
from ecommerce_streams.routing.writer import RecordWriter
from ecommerce_streams.topic_names import TopicNames
from models.routing.checks import AwsError
from models.routing.rules import Rule, rule_to_bytes
from models.topics import CONTROL_ROLES, DERIVED_ROLES, SOURCE_ROLES, TopicRole
from tests.unit.routing_samples import HIGH_VALUE
from tests.web_local import MemoryEntries

PATTERN = json.dumps(HIGH_VALUE)
TARGET = {"Id": "t1", "Arn": "kafka:high-value-orders"}


def catalogue() -> Catalogue[Rule]:
    """A rules catalogue that is never started (records are applied by hand)."""
    return Catalogue("127.0.0.1:1", "routing-rules", RULES, RecordWriter("127.0.0.1:1"))


def actions() -> tuple[RoutingActions, MemoryEntries[Any], MemoryEntries[Any]]:
    """Actions on two in-memory catalogues, and the catalogues to look at their records."""
    rules, subscriptions = MemoryEntries(RULES), MemoryEntries(SUBSCRIPTIONS)
    return RoutingActions(rules, subscriptions), rules, subscriptions


def test_the_control_topics_are_named_like_the_others_and_are_neither_sources_nor_outputs() -> None:
    names = TopicNames("shop.")

    assert names.controls() == (
        "shop.routing-rules",
        "shop.routing-subscriptions",
        "shop.queue-state",
    )
    assert (names.routing_rules, names.routing_subscriptions, names.queue_state) == (
        names.controls()
    )
    assert not set(CONTROL_ROLES) & {*SOURCE_ROLES, *DERIVED_ROLES}
    assert not set(names.controls()) & set(names.all())
    assert set(TopicRole) == {*SOURCE_ROLES, *DERIVED_ROLES, *CONTROL_ROLES} | {
        TopicRole.DEAD_LETTERS_REDRIVEN
    }


def test_a_replay_reads_the_live_catalogues_and_never_copies_them() -> None:
    live = TopicNames("shop.")

    assert live.replay(2).controls() == live.controls()


def test_missing_control_topics_are_created_compacted_with_one_partition() -> None:
    created = _missing_controls(TopicNames("shop."), 3, {"shop.routing-rules"})

    assert [(t.name, t.num_partitions, t.replication_factor) for t in created] == [
        ("shop.routing-subscriptions", CONTROL_PARTITIONS, 3),
        ("shop.queue-state", CONTROL_PARTITIONS, 3),
    ]
    assert all(t.topic_configs == {"cleanup.policy": "compact"} for t in created)


def test_a_catalogue_keeps_the_last_value_of_each_key_and_forgets_it_on_a_tombstone() -> None:
    rules = catalogue()
    first = Rule("high-value", PATTERN)
    second = Rule("high-value", PATTERN, description="big orders")

    rules.apply(b"high-value", rule_to_bytes(first))
    rules.apply(b"other", rule_to_bytes(Rule("other", PATTERN)))
    rules.apply(b"high-value", rule_to_bytes(second))
    assert rules.entries == {"high-value": second, "other": Rule("other", PATTERN)}

    rules.apply(b"other", None)
    assert rules.entries == {"high-value": second}


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"Name": "x"}', b"\xff"])
def test_an_unreadable_record_is_skipped_and_the_key_keeps_its_last_value(raw: bytes) -> None:
    rules = catalogue()
    rule = Rule("high-value", PATTERN)
    rules.apply(b"high-value", rule_to_bytes(rule))

    rules.apply(b"high-value", raw)
    rules.apply(None, rule_to_bytes(Rule("keyless", PATTERN)))

    assert rules.entries == {"high-value": rule}


async def test_each_rule_action_writes_the_one_rule_it_changed() -> None:
    routing, rules, _ = actions()

    answer = await routing.put_rule("high-value", {"EventPattern": PATTERN})
    await routing.put_targets("high-value", [TARGET])
    await routing.remove_targets("high-value", ["t1"])
    await routing.delete_rule("high-value")

    assert answer == {"RuleArn": "arn:aws:events:local:000000000000:rule/high-value"}
    assert [(key, raw is None) for key, raw in rules.records] == [("high-value", False)] * 3 + [
        ("high-value", True)
    ]


async def test_an_action_that_changes_nothing_writes_nothing() -> None:
    routing, rules, _ = actions()
    await routing.put_rule("high-value", {"EventPattern": PATTERN})

    await routing.put_rule("high-value", {"EventPattern": PATTERN})
    answer = await routing.put_targets("high-value", [{"Id": "t1", "Arn": "ftp://x"}])
    await routing.remove_targets("high-value", ["missing"])

    assert answer["FailedEntryCount"] == 1
    assert len(rules.records) == 1


async def test_disabling_a_rule_keeps_its_targets() -> None:
    routing, _, _ = actions()
    await routing.put_rule("high-value", {"EventPattern": PATTERN})
    await routing.put_targets("high-value", [TARGET])

    await routing.put_rule("high-value", {"EventPattern": PATTERN, "State": "DISABLED"})

    assert (await routing.describe_rule("high-value"))["State"] == "DISABLED"
    assert await routing.list_targets("high-value") == {"Targets": [TARGET]}


async def test_a_name_in_the_body_must_be_the_rule_s_own() -> None:
    routing, rules, _ = actions()

    with pytest.raises(AwsError) as refused:
        await routing.put_rule("high-value", {"Name": "other", "EventPattern": PATTERN})

    assert refused.value.aws_type == "ValidationException"
    assert rules.records == []


@pytest.mark.parametrize("ids", [None, "t1", [1], {"Id": "t1"}])
async def test_remove_targets_needs_a_list_of_ids(ids: object) -> None:
    routing, _, _ = actions()
    await routing.put_rule("high-value", {"EventPattern": PATTERN})

    with pytest.raises(AwsError) as refused:
        await routing.remove_targets("high-value", ids)

    assert refused.value.aws_type == "ValidationException"


async def test_subscribe_and_unsubscribe_write_one_record_each_and_resubscribing_none() -> None:
    routing, _, subscriptions = actions()
    request = {"TopicArn": "order-events", "Protocol": "kafka", "Endpoint": "kafka:audit"}

    first = await routing.subscribe(request)
    again = await routing.subscribe(request)
    [listed] = (await routing.list_subscriptions())["Subscriptions"]
    await routing.unsubscribe(first["SubscriptionArn"].rsplit(":", 1)[-1])

    assert first == again == {"SubscriptionArn": listed["SubscriptionArn"]}
    assert [raw is None for _, raw in subscriptions.records] == [False, True]
    assert await routing.list_subscriptions() == {"Subscriptions": []}


async def test_a_control_topic_cannot_be_subscribed_to() -> None:
    routing, _, _ = actions()
    request = {"TopicArn": "routing-rules", "Protocol": "kafka", "Endpoint": "kafka:copy"}

    with pytest.raises(AwsError) as refused:
        await routing.subscribe(request)

    assert refused.value.aws_type == "NotFoundException"
