"""A removed worker's open transaction, adopted and aborted by the group's first worker (gap 18).

With ``worker-transactions`` only a worker of the same name takes its transactional id
back. The test leaves a transaction of a worker that never returns open in the app's
``orders`` partitions and in the group's offsets of them, then starts one worker. Set
ES_TEST_EXACTLY_ONCE_REPAIRS=-orphaned-transactions to see
the worker wait for it until the broker's transaction timeout (ten minutes here).
"""

import os
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from ecommerce_streams.harness.deployment import Deployment
from ecommerce_streams.operations.consumer_group import group_id
from ecommerce_streams.operations.topic_setup import ensure_topics
from tests.integration.test_commit_path import place_order

pytestmark = pytest.mark.integration

#: Long enough that the broker never ends the orphan's transaction during the test.
ORPHAN_TIMEOUT_MS = 600_000


async def orphaned_transaction(deployment: Deployment) -> AIOKafkaProducer:
    """A removed worker's transaction: records in every orders partition, their offsets pending."""
    orders = deployment.topics.orders
    producer = AIOKafkaProducer(
        bootstrap_servers=deployment.bootstrap,
        transactional_id=f"{deployment.app_id}-worker-removed-{uuid.uuid4().hex[:6]}",
        transaction_timeout_ms=ORPHAN_TIMEOUT_MS,
    )
    await producer.start()
    await producer.begin_transaction()
    for partition in range(deployment.partitions):
        await producer.send_and_wait(orders, b"never committed", partition=partition)
    await producer.send_offsets_to_transaction(
        {TopicPartition(orders, p): 0 for p in range(deployment.partitions)},
        group_id(deployment.app_id, 1),
    )
    return producer  # left open: the worker that ran it is gone


async def first_committed(broker: str, topic: str, *, within: float) -> object | None:
    """The first record of ``topic`` a read_committed consumer sees within ``within`` s, if any."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=broker,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=int(within * 1000), max_records=1)
    finally:
        await consumer.stop()
    return next((record for records in batches.values() for record in records), None)


async def test_a_transaction_left_open_by_a_removed_worker_is_aborted_so_its_partitions_go_on(
    broker: str, tmp_path: Path
) -> None:
    repairs = os.environ.get("ES_TEST_EXACTLY_ONCE_REPAIRS", "default")
    deployment = Deployment(
        bootstrap=broker, workdir=tmp_path, extra_env={"ES_EXACTLY_ONCE_REPAIRS": repairs}
    )
    await ensure_topics(broker, deployment.topics, partitions=deployment.partitions)
    orphan = await orphaned_transaction(deployment)
    try:
        await place_order(broker, deployment)
        command = await first_committed(broker, deployment.topics.inventory_commands, within=60)
    finally:
        deployment.stop()
        orphan._sender._sender_task.cancel()  # vanish without ending the transaction
        await orphan.client.close()
        orphan._closed = True  # stopping it would end the transaction
    assert command is not None, "the order waited for a removed worker's open transaction for 60 s"
