"""The commit path on a real broker: one changelog record per key and transaction, prompt commits.

A real worker process runs against the session's broker; we read its topics from outside,
read-committed. Set ES_TEST_EXACTLY_ONCE_REPAIRS (e.g. ``-write-cache`` or
``-commit-on-drain``) to see each test fail without what it proves.
"""

import os
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from ecommerce_streams.harness.deployment import Deployment
from ecommerce_streams.operations.changelogs import changelog_topic
from ecommerce_streams.operations.topic_setup import ensure_topics
from models.envelope import Envelope, encode_event
from models.events import OrderLine, OrderPlaced, StockReceived
from tests.web_client import Samples, eventually, get_json, scrape, total

pytestmark = pytest.mark.integration


def envelope(payload: StockReceived | OrderPlaced) -> Envelope:
    """The payload as a shop would send it."""
    return Envelope.of(payload, event_id=uuid.uuid4(), source="web", occurred_at=datetime.now(UTC))


def deployment_with(broker: str, tmp_path: Path, **env: str) -> Deployment:
    """A one-worker deployment with these settings and the repairs the test run asks for."""
    repairs = os.environ.get("ES_TEST_EXACTLY_ONCE_REPAIRS")
    if repairs:
        env["ES_EXACTLY_ONCE_REPAIRS"] = repairs
    return Deployment(bootstrap=broker, workdir=tmp_path, extra_env=env)


async def read_committed(broker: str, topic: str, *, until: float) -> list[tuple[bytes, float]]:
    """Every (key, arrival time) of a topic a read_committed consumer sees before ``until``."""
    return [
        (record.key or b"", arrival) for record, arrival in await records_of(broker, topic, until)
    ]


async def records_of(broker: str, topic: str, until: float) -> list[tuple[Any, float]]:
    """Every (record, arrival time) of a topic a read_committed consumer sees before ``until``."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=broker,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    seen: list[tuple[Any, float]] = []
    try:
        while time.monotonic() < until:
            batches = await consumer.getmany(timeout_ms=200)
            seen += [(r, time.monotonic()) for rs in batches.values() for r in rs]
    finally:
        await consumer.stop()
    return seen


async def receive_stock(broker: str, inventory: str, skus: list[str]) -> None:
    """One unit of each sku received, in this order, as the warehouse would send it."""
    producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all")
    await producer.start()
    try:
        for sku in skus:
            received = envelope(StockReceived(sku=sku, qty=1))
            await producer.send(inventory, encode_event(received), key=sku.encode())
        await producer.flush()
    finally:
        await producer.stop()


def one_unit_order(order_id: str, sku: str, *, customer_id: str = "cust-1") -> OrderPlaced:
    """An order for one unit of ``sku`` at 9.50 euros."""
    return OrderPlaced(
        order_id=order_id,
        customer_id=customer_id,
        lines=(OrderLine(sku=sku, qty=1, unit_price=Decimal("9.50")),),
        currency="EUR",
        total=Decimal("9.50"),
        shipping_address="1 Main Street, Springfield",
    )


async def place_order(broker: str, deployment: Deployment, *, customer_id: str = "cust-1") -> str:
    """Start one worker, then place an order for one unit of a sku nobody stocked; its id."""
    order_id = f"ord-{uuid.uuid4().hex[:8]}"
    placed = one_unit_order(order_id, f"sku-{uuid.uuid4().hex[:8]}", customer_id=customer_id)
    producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all")
    await producer.start()
    try:
        await deployment.start_workers(1)
        await producer.send_and_wait(
            deployment.topics.orders, encode_event(envelope(placed)), key=order_id.encode()
        )
    finally:
        await producer.stop()
    return order_id


async def test_a_sku_received_twenty_times_between_commits_writes_one_changelog_record(
    broker: str, tmp_path: Path
) -> None:
    deployment = deployment_with(
        broker,
        tmp_path,
        ES_COMMIT_INTERVAL_SECONDS="5",
        ES_COMMIT_MAX_EVENTS="100000",
        ES_EXACTLY_ONCE_REPAIRS=os.environ.get("ES_TEST_EXACTLY_ONCE_REPAIRS", "-commit-on-drain"),
    )
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    await deployment.start_workers(1)
    await receive_stock(broker, deployment.topics.inventory, [sku] * 20)
    try:
        changelog = changelog_topic(deployment.app_id, 1, "stock")
        records = await read_committed(broker, changelog, until=time.monotonic() + 15)
    finally:
        deployment.stop()
    writes = [key for key, _ in records if sku.encode() in key]
    assert len(writes) == 1, f"{len(writes)} changelog records for 20 changes in one transaction"


async def test_a_lightly_loaded_hop_is_visible_long_before_the_commit_interval(
    broker: str, tmp_path: Path
) -> None:
    deployment = deployment_with(broker, tmp_path, ES_COMMIT_INTERVAL_SECONDS="60")
    await place_order(broker, deployment)
    sent_at = time.monotonic()
    try:
        commands = await read_committed(
            broker, deployment.topics.inventory_commands, until=sent_at + 20
        )
    finally:
        deployment.stop()
    assert commands, "the order's stock command was not committed within 20 s (interval 60 s)"
    assert commands[0][1] - sent_at < 20


async def test_one_agent_follows_order_events_so_its_stages_write_no_dedup_records(
    broker: str, tmp_path: Path
) -> None:
    # Notifications and analytics run in one agent: its effects commit with the offset of
    # each order event, so no event of that internal hop can arrive twice.
    deployment = deployment_with(broker, tmp_path)
    customer_id = f"cust-{uuid.uuid4().hex[:8]}"
    await place_order(broker, deployment, customer_id=customer_id)
    try:
        # The unstocked order is rejected: one order event, from which notifications and
        # analytics each derive a record of their own.
        notifications = await read_committed(
            broker, deployment.topics.notifications, until=time.monotonic() + 20
        )
        seen = await read_committed(
            broker, changelog_topic(deployment.app_id, 1, "seen"), until=time.monotonic() + 3
        )
    finally:
        deployment.stop()
    assert [key for key, _ in notifications if key == customer_id.encode()], "no notification"
    stages = {key.strip(b'"').split(b"/", 1)[0] for key, _ in seen}
    assert not stages & {b"notifications", b"analytics"}, f"dedup records of {stages}"


async def test_a_shop_event_sent_twice_is_applied_once_by_the_orders_own_state(
    broker: str, tmp_path: Path
) -> None:
    # The order keeps the ids of the shop's events it applied, in the record its changelog
    # gets anyway: a repeat is recognised there, and no seen record is written for either.
    deployment = deployment_with(broker, tmp_path)
    order_id = f"ord-{uuid.uuid4().hex[:8]}"
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    placed = envelope(one_unit_order(order_id, sku))
    producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all")
    await producer.start()
    try:
        [worker] = await deployment.start_workers(1)
        for _ in range(2):
            await producer.send_and_wait(
                deployment.topics.orders, encode_event(placed), key=order_id.encode()
            )
        samples = await eventually(
            lambda: scrape(worker.url),
            lambda s: total(s, "es_duplicates_dropped_total", stage="orders") >= 1,
            timeout=60,
        )
        commands = await read_committed(
            broker, deployment.topics.inventory_commands, until=time.monotonic() + 5
        )
        seen = await read_committed(
            broker, changelog_topic(deployment.app_id, 1, "seen"), until=time.monotonic() + 3
        )
    finally:
        await producer.stop()
        deployment.stop()
    assert total(samples, "es_events_processed_total", topic=deployment.topics.orders) == 1
    assert [key for key, _ in commands] == [sku.encode()], "one reservation for the order"
    assert not [key for key, _ in seen if order_id.encode() in key or b"orders/" in key], seen


async def drained_stock_backlog(broker: str, tmp_path: Path) -> tuple[Samples, list[Any]]:
    """Ten deliveries for each of 20 skus, waiting before a worker starts: its metrics once
    it has applied all 200 and stored every level, and the 20 levels it serves."""
    deployment = deployment_with(broker, tmp_path)
    await ensure_topics(broker, deployment.topics, partitions=deployment.partitions)
    skus = [f"sku-{uuid.uuid4().hex[:8]}" for _ in range(20)]
    await receive_stock(broker, deployment.topics.inventory, skus * 10)
    inventory = deployment.topics.inventory
    try:
        [worker] = await deployment.start_workers(1)
        samples = await eventually(
            lambda: scrape(worker.url),
            lambda s: (
                total(s, "es_events_processed_total", topic=inventory) >= 200
                and total(s, "es_table_store_writes_total", table="stock") >= 20
            ),
            timeout=120,
        )
        # The last commit's store writes may still be under way when the counters are read.
        levels = await eventually(
            lambda: stock_levels(worker.url, skus),
            lambda found: all(level["on_hand"] == 10 for level in found),
            timeout=30,
        )
    finally:
        deployment.stop()
    assert total(samples, "es_events_processed_total", topic=inventory) == 200  # each once
    return samples, levels


async def stock_levels(url: str, skus: list[str]) -> list[Any]:
    """The stock level each sku's view serves now."""
    return [(await get_json(f"{url}/inventory/{sku}"))[2] for sku in skus]


async def test_a_backlog_waiting_in_an_agents_input_is_processed_several_events_per_unit(
    broker: str, tmp_path: Path
) -> None:
    # A unit of work takes the events already queued behind the next one (batched-units):
    # one gate turn for many events, and each still applied exactly once.
    samples, levels = await drained_stock_backlog(broker, tmp_path)
    units, events = total(samples, "es_unit_events_count"), total(samples, "es_unit_events_sum")
    assert [level["on_hand"] for level in levels] == [10] * 20
    assert events >= 200 and units <= events / 4, f"{events} events in {units} units of work"


async def test_a_stock_level_changed_many_times_in_one_commit_is_stored_once_per_commit(
    broker: str, tmp_path: Path
) -> None:
    # Table writes wait for the commit (deferred-store-writes): each sku's level changes
    # ten times in a backlog that few commits cover, and reaches RocksDB once per commit.
    samples, levels = await drained_stock_backlog(broker, tmp_path)
    stored = total(samples, "es_table_store_writes_total", table="stock")
    assert [level["on_hand"] for level in levels] == [10] * 20
    assert 20 <= stored <= 100, f"200 changes of 20 stock levels took {stored} writes"
