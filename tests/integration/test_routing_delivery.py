"""Rules and subscriptions created over HTTP route the saga's events on the real broker."""

import json
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest

from ecommerce_streams.harness.verify.reading import TopicReader
from ecommerce_streams.harness.verify.records import Record
from models.routing.router import EVENT_ID_HEADER, ROUTE_HEADER
from tests.web_client import call, eventually, post_events
from tests.web_deployment import TwoWorkers, two_workers
from tests.web_events import order_placed, payment_authorized, stock_received, unique

pytestmark = pytest.mark.integration

HIGH_VALUE = {"detail-type": ["OrderConfirmed"], "detail": {"total": [{"numeric": [">", 500]}]}}


@pytest.fixture(scope="module")
async def shop(broker: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TwoWorkers]:
    """Two ready workers of one isolated deployment."""
    async with two_workers(broker, tmp_path_factory.mktemp("routed")) as workers:
        yield workers


async def place_paid_order(shop: TwoWorkers, sku: str, unit_price: str) -> str:
    """Stock, an order of one unit and its payment, POSTed to a worker; the order's id."""
    order_id = unique("ord")
    price = Decimal(unit_price)
    for event in (
        stock_received(sku, qty=1),
        order_placed(order_id, sku, qty=1, unit_price=price),
        payment_authorized(order_id, qty=1, unit_price=price),
    ):
        status, _, answer = await post_events(shop.a.url, event)
        assert status == 202, answer
    return order_id


async def read_until(
    bootstrap: str, topic: str, done: Callable[[list[Record]], bool], timeout: float = 60
) -> list[Record]:
    """Every record of ``topic`` once ``done`` holds for them (read committed)."""
    async with TopicReader(bootstrap, [topic]) as reader:

        async def records() -> list[Record]:
            await reader.catch_up()
            return list(reader.records[topic])

        return await eventually(records, done, timeout=timeout)


def about(records: list[Record], order_id: str) -> list[Record]:
    """The records keyed by ``order_id``."""
    return [record for record in records if record.key == order_id.encode()]


async def put_rule(shop: TwoWorkers, name: str, target_topic: str, **fields: Any) -> None:
    """A rule with one Kafka target, created over HTTP."""
    rule = {"EventPattern": json.dumps(HIGH_VALUE), **fields}
    status, _, answer = await call(shop.b.url, "PUT", f"/rules/{name}", rule)
    assert status == 200, answer
    target = {"Id": "review", "Arn": f"kafka:{target_topic}", "InputPath": "$.detail"}
    status, _, answer = await call(
        shop.b.url, "PUT", f"/rules/{name}/targets", {"Targets": [target]}
    )
    assert answer == {"FailedEntryCount": 0, "FailedEntries": []}


async def test_a_high_value_order_reaches_the_rule_target_once_and_a_small_one_never(
    shop: TwoWorkers,
) -> None:
    rule, target = unique("high"), unique("fraud-review")
    await put_rule(shop, rule, target)

    big = await place_paid_order(shop, unique("FR"), "612.50")
    small = await place_paid_order(shop, unique("FR"), "20.00")
    routed = await read_until(shop.deployment.bootstrap, target, lambda rs: bool(about(rs, big)))
    await place_paid_order(shop, unique("FR"), "700.00")  # a later one: the small came before
    routed = await read_until(shop.deployment.bootstrap, target, lambda rs: len(rs) == 2)

    [delivered] = about(routed, big)
    assert json.loads(delivered.value or b"") == {
        "order_id": big,
        "customer_id": "cust-web",
        "total": 612.5,
        "currency": "EUR",
    }
    assert delivered.header(ROUTE_HEADER) == f"rule/{rule}/review"
    assert delivered.header(EVENT_ID_HEADER)
    assert about(routed, small) == []


async def test_a_disabled_rule_routes_nothing_until_it_is_enabled_again_without_a_restart(
    shop: TwoWorkers,
) -> None:
    rule, target = unique("toggled"), unique("fraud-review")
    await put_rule(shop, rule, target, State="DISABLED")
    while_disabled = await place_paid_order(shop, unique("FR"), "999.00")
    await read_until(  # the order is decided: it had its chance to be routed
        shop.deployment.bootstrap,
        shop.deployment.topics.order_events,
        lambda rs: bool(about(rs, while_disabled)),
    )

    await put_rule(shop, rule, target, State="ENABLED")
    after = await place_paid_order(shop, unique("FR"), "999.00")
    routed = await read_until(shop.deployment.bootstrap, target, lambda rs: bool(about(rs, after)))

    assert about(routed, while_disabled) == []
    assert len(about(routed, after)) == 1


async def test_a_warehouse_subscription_receives_only_the_shipments_of_its_skus(
    shop: TwoWorkers,
) -> None:
    queue = unique("warehouse-fr")
    subscription = {
        "TopicArn": "shipments",
        "Protocol": "kafka",
        "Endpoint": f"kafka:{queue}",
        "Attributes": {
            "FilterPolicy": json.dumps({"data": {"lines": {"sku": [{"prefix": "FR-"}]}}}),
            "FilterPolicyScope": "MessageBody",
            "RawMessageDelivery": "true",
        },
    }
    status, _, answer = await call(shop.a.url, "POST", "/subscriptions", subscription)
    assert status == 200, answer

    german = await place_paid_order(shop, unique("DE"), "15.00")
    french = await place_paid_order(shop, unique("FR"), "15.00")
    shipments = await read_until(
        shop.deployment.bootstrap,
        shop.deployment.topics.shipments,
        lambda rs: bool(about(rs, german)) and bool(about(rs, french)),
    )
    delivered = await read_until(shop.deployment.bootstrap, queue, lambda rs: bool(rs))

    assert [record.value for record in delivered] == [r.value for r in about(shipments, french)]
    assert (
        delivered[0].header(ROUTE_HEADER)
        == f"subscription/{answer['SubscriptionArn'].rsplit(':', 1)[-1]}"
    )


async def test_an_http_target_is_queued_on_http_deliveries_with_its_endpoint(
    shop: TwoWorkers,
) -> None:
    rule, endpoint = unique("hook"), f"https://partner.example/{unique('orders')}"
    status, _, _ = await call(
        shop.a.url, "PUT", f"/rules/{rule}", {"EventPattern": json.dumps(HIGH_VALUE)}
    )
    target = {"Id": "partner", "Arn": endpoint}
    await call(shop.a.url, "PUT", f"/rules/{rule}/targets", {"Targets": [target]})

    order_id = await place_paid_order(shop, unique("NL"), "501.00")
    queued = await read_until(
        shop.deployment.bootstrap,
        shop.deployment.topics.http_deliveries,
        lambda rs: any(r.header("es-endpoint") == endpoint for r in about(rs, order_id)),
    )

    [delivery] = [r for r in about(queued, order_id) if r.header("es-endpoint") == endpoint]
    event = json.loads(delivery.value or b"")
    assert status == 200
    assert (event["detail-type"], event["detail"]["order_id"]) == ("OrderConfirmed", order_id)
    assert event["source"] == "ecommerce-streams.order-events"
