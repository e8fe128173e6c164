"""The routing catalogues on the real broker: changed on one worker, seen by the other at once."""

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from ecommerce_streams.harness.deployment import Deployment
from ecommerce_streams.kafka_admin import admin_client
from ecommerce_streams.web.problems import AWS_JSON
from tests.integration.operator import run_cli_blocking
from tests.web_client import call, eventually
from tests.web_deployment import TwoWorkers, two_workers
from tests.web_events import unique

pytestmark = pytest.mark.integration

PATTERN = json.dumps({"detail-type": ["OrderConfirmed"]})


@pytest.fixture(scope="module")
async def shop(broker: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TwoWorkers]:
    """Two ready workers of one isolated deployment."""
    async with two_workers(broker, tmp_path_factory.mktemp("routing")) as workers:
        yield workers


async def seen(url: str, path: str, done: Any) -> Any:
    """GET ``path`` until ``done(status, json)`` holds; return that JSON."""
    _, _, answer = await eventually(
        lambda: call(url, "GET", path), lambda reply: done(reply[0], reply[2]), timeout=15
    )
    return answer


async def test_the_catalogue_topics_are_compacted(shop: TwoWorkers) -> None:
    topics = shop.deployment.topics.controls()
    async with admin_client(shop.deployment.bootstrap) as admin:
        described = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic) for topic in topics]
        )
    policies = {
        resource[3]: {entry[0]: entry[1] for entry in resource[4]}["cleanup.policy"]
        for response in described
        for resource in response.resources
    }
    assert policies == dict.fromkeys(topics, "compact")


async def test_a_rule_put_on_one_worker_is_listed_by_the_other_without_a_restart(
    shop: TwoWorkers,
) -> None:
    name = unique("rule")

    status, _, put = await call(shop.a.url, "PUT", f"/rules/{name}", {"EventPattern": PATTERN})
    _, _, on_first = await call(shop.a.url, "GET", f"/rules?NamePrefix={name}")
    on_second = await seen(shop.b.url, f"/rules?NamePrefix={name}", lambda _, body: body["Rules"])

    assert status == 200 and put["RuleArn"].endswith(f":rule/{name}")
    assert on_first == on_second
    assert [rule["Name"] for rule in on_second["Rules"]] == [name]


async def test_disabling_and_enabling_a_rule_is_seen_by_both_workers(shop: TwoWorkers) -> None:
    name = unique("rule")
    path = f"/rules/{name}"
    await call(shop.a.url, "PUT", path, {"EventPattern": PATTERN})

    def in_state(state: str) -> Any:
        return lambda _, body: body.get("State") == state

    for state, writer in (("DISABLED", shop.b), ("ENABLED", shop.a)):
        status, _, _ = await call(
            writer.url, "PUT", path, {"EventPattern": PATTERN, "State": state}
        )
        assert status == 200
        _, _, described = await call(writer.url, "GET", path)  # read-your-writes: at once
        assert described["State"] == state
        for worker in (shop.a, shop.b):
            await seen(worker.url, path, in_state(state))


async def test_targets_added_on_one_worker_and_removed_on_the_other(shop: TwoWorkers) -> None:
    name = unique("rule")
    targets = f"/rules/{name}/targets"
    target = {"Id": "audit", "Arn": "kafka:audit-log", "InputPath": "$.detail"}
    await call(shop.a.url, "PUT", f"/rules/{name}", {"EventPattern": PATTERN})

    _, _, put = await call(shop.a.url, "PUT", targets, {"Targets": [target]})
    listed = await seen(shop.b.url, targets, lambda _, body: body.get("Targets"))
    _, _, removed = await call(shop.b.url, "DELETE", targets, {"Ids": ["audit"]})
    emptied = await seen(shop.a.url, targets, lambda _, body: body.get("Targets") == [])
    status, _, _ = await call(shop.a.url, "DELETE", f"/rules/{name}")

    assert put == removed == {"FailedEntryCount": 0, "FailedEntries": []}
    assert listed == {"Targets": [target]}
    assert emptied == {"Targets": []}
    assert status == 200
    await seen(shop.b.url, f"/rules/{name}", lambda status, _: status == 404)


async def test_a_subscription_is_added_listed_and_deleted_across_workers(
    shop: TwoWorkers,
) -> None:
    endpoint = f"kafka:{unique('audit')}"
    request = {
        "TopicArn": "order-events",
        "Protocol": "kafka",
        "Endpoint": endpoint,
        "Attributes": {"FilterPolicy": json.dumps({"status": ["confirmed"]})},
    }

    status, _, added = await call(shop.a.url, "POST", "/subscriptions", request)
    arn = added["SubscriptionArn"]

    def listed(body: Any) -> list[str]:
        return [s["SubscriptionArn"] for s in body["Subscriptions"] if s["Endpoint"] == endpoint]

    on_second = await seen(shop.b.url, "/subscriptions", lambda _, body: listed(body))
    deleted, _, _ = await call(shop.b.url, "DELETE", f"/subscriptions/{arn.rsplit(':', 1)[-1]}")
    await seen(shop.a.url, "/subscriptions", lambda _, body: not listed(body))

    assert status == deleted == 200
    assert listed(on_second) == [arn]


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("PUT", "/rules/bad", {"EventPattern": '{"a": 1}'}, (400, "InvalidEventPatternException")),
        ("PUT", "/rules/bad", ["not", "an", "object"], (400, "SerializationException")),
        ("GET", "/rules/never-made", None, (404, "ResourceNotFoundException")),
        ("PUT", "/rules/never-made/targets", {"Targets": []}, (404, "ResourceNotFoundException")),
        ("DELETE", "/subscriptions/never-made", None, (404, "NotFoundException")),
        ("POST", "/subscriptions", {"TopicArn": "routing-rules"}, (404, "NotFoundException")),
    ],
)
async def test_invalid_input_is_aws_s_error_and_never_crashes_a_worker(
    shop: TwoWorkers, method: str, path: str, body: Any, expected: tuple[int, str]
) -> None:
    status, content_type, answer = await call(shop.b.url, method, path, body)

    assert (status, answer["__type"]) == expected
    assert content_type == AWS_JSON and answer["message"]
    assert shop.b.running
    assert (await call(shop.b.url, "GET", "/health"))[0] == 200


def cli(deployment: Deployment, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``ecommerce-streams ARGS`` against the deployment's broker and topics."""
    return run_cli_blocking(deployment.env(), *args)


async def test_the_command_line_manages_the_same_catalogue_as_the_workers(
    shop: TwoWorkers,
) -> None:
    name = unique("cli")
    target = json.dumps({"Id": "t1", "Arn": "kafka:cli-out"})

    put = await asyncio.to_thread(cli, shop.deployment, "rules", "put", name, "--pattern", PATTERN)
    seen_by_worker = await seen(shop.a.url, f"/rules/{name}", lambda status, _: status == 200)
    await call(shop.b.url, "PUT", f"/rules/{name}/targets", {"Targets": [json.loads(target)]})
    targets = await asyncio.to_thread(cli, shop.deployment, "rules", "targets", "list", name)
    refused = await asyncio.to_thread(cli, shop.deployment, "rules", "delete", name)
    removed = await asyncio.to_thread(
        cli, shop.deployment, "rules", "targets", "remove", name, "--id", "t1"
    )
    deleted = await asyncio.to_thread(cli, shop.deployment, "rules", "delete", name)
    listed = await asyncio.to_thread(cli, shop.deployment, "rules", "list", "--prefix", name)

    assert put.returncode == 0, put.stderr
    assert json.loads(put.stdout) == {"RuleArn": seen_by_worker["Arn"]}
    assert json.loads(targets.stdout) == {"Targets": [json.loads(target)]}
    assert refused.returncode == 1
    assert json.loads(refused.stderr)["__type"] == "ValidationException"
    assert removed.returncode == deleted.returncode == 0
    assert json.loads(listed.stdout) == {"Rules": []}
    await seen(shop.b.url, f"/rules/{name}", lambda status, _: status == 404)


async def test_the_command_line_adds_lists_and_deletes_a_subscription(shop: TwoWorkers) -> None:
    endpoint = f"https://hooks.example/{unique('h')}"
    added = await asyncio.to_thread(
        cli,
        shop.deployment,
        "subscriptions",
        "add",
        "--topic",
        "shipments",
        "--protocol",
        "https",
        "--endpoint",
        endpoint,
    )
    arn = json.loads(added.stdout)["SubscriptionArn"]
    await seen(
        shop.b.url,
        "/subscriptions",
        lambda _, body: arn in [s["SubscriptionArn"] for s in body["Subscriptions"]],
    )
    listed = await asyncio.to_thread(cli, shop.deployment, "subscriptions", "list")
    deleted = await asyncio.to_thread(cli, shop.deployment, "subscriptions", "delete", arn)

    assert arn in [s["SubscriptionArn"] for s in json.loads(listed.stdout)["Subscriptions"]]
    assert deleted.returncode == 0, deleted.stderr
    await seen(
        shop.a.url,
        "/subscriptions",
        lambda _, body: arn not in [s["SubscriptionArn"] for s in body["Subscriptions"]],
    )
