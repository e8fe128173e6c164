"""Event ids past the dedup window leave the table a bounded slice at a time, on a real broker.

A real worker process runs against the session's broker; events are sent with Kafka
timestamps an hour old, then current ones, so ids expire in event-log time at once.
"""

import time
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from ecommerce_streams.harness.deployment import Deployment
from ecommerce_streams.operations.changelogs import changelog_topic
from ecommerce_streams.operations.topic_setup import ensure_topics
from models.envelope import encode_event
from models.events import StockReceived
from tables.seen import SWEEP_EVERY, SWEEP_RATE
from tests.integration.test_commit_path import deployment_with, envelope, records_of
from tests.web_client import Samples, eventually, scrape, total

pytestmark = pytest.mark.integration

OLD = 1000
"""Ids remembered an hour ago: more than one sweep turn examines."""


async def receive(broker: str, inventory: str, sku: str, count: int, *, at_ms: int) -> None:
    """``count`` deliveries of one sku, sent with Kafka timestamp ``at_ms``."""
    producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all", linger_ms=5)
    await producer.start()
    try:
        for _ in range(count):
            received = encode_event(envelope(StockReceived(sku=sku, qty=1)))
            await producer.send(inventory, received, key=sku.encode(), timestamp_ms=at_ms)
        await producer.flush()
    finally:
        await producer.stop()


async def tombstones(broker: str, topic: str, *, until: float) -> int:
    """Deletions a read_committed consumer sees in a changelog before ``until``."""
    return sum(record.value is None for record, _ in await records_of(broker, topic, until))


async def applied(deployment: Deployment, url: str, events: int) -> Samples:
    """The worker's metrics once it has applied ``events`` inventory events and stored them."""
    inventory = deployment.topics.inventory
    return await eventually(
        lambda: scrape(url),
        lambda s: (
            total(s, "es_events_processed_total", topic=inventory) >= events
            and total(s, "es_table_store_writes_total", table="seen") >= min(events, OLD)
        ),
        timeout=120,
    )


async def test_expired_event_ids_are_deleted_a_bounded_slice_per_turn_until_none_is_left(
    broker: str, tmp_path: Path
) -> None:
    deployment = deployment_with(broker, tmp_path, ES_DEDUP_WINDOW_SECONDS="60")
    await ensure_topics(broker, deployment.topics, partitions=deployment.partitions)
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    now_ms = int(time.time() * 1000)
    inventory = deployment.topics.inventory
    changelog = changelog_topic(deployment.app_id, 1, "seen")
    try:
        [worker] = await deployment.start_workers(1)
        await receive(broker, inventory, sku, OLD, at_ms=now_ms - 3_600_000)
        await applied(deployment, worker.url, OLD)
        # The next turn comes with the SWEEP_EVERY-th id remembered since the last one.
        await receive(broker, inventory, sku, SWEEP_EVERY, at_ms=now_ms)
        await applied(deployment, worker.url, OLD + SWEEP_EVERY)
        after_one_turn = await tombstones(broker, changelog, until=time.monotonic() + 3)
        assert 0 < after_one_turn <= SWEEP_EVERY * SWEEP_RATE, f"{after_one_turn} ids in a turn"
        # Enough turns to lap every entry the partition holds by then.
        await receive(broker, inventory, sku, 2 * OLD, at_ms=now_ms)
        samples = await eventually(
            lambda: scrape(worker.url),
            lambda s: total(s, "es_dedup_ids_expired_total") >= OLD,
            timeout=120,
        )
        deleted = await tombstones(broker, changelog, until=time.monotonic() + 5)
    finally:
        deployment.stop()
    assert total(samples, "es_dedup_ids_expired_total") == OLD
    assert deleted == OLD, f"{deleted} tombstones in the seen changelog for {OLD} expired ids"
