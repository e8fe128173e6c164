"""Delivery processes killed with -9 and a broker restart while a flaky partner receives thousands.

Two ``ecommerce-streams deliver`` processes share the deliveries of 3,000 records to a
local endpoint that fails 20 % of requests and is sometimes slow. One process is killed
with -9 and restarted twice, then the broker is restarted. Every record must reach the
partner with a 2xx at least once, every repeat carries the key of its record, none is
dead-lettered (the retries are not spent), and the group's committed offsets reach the
end of every partition: each record is acknowledged, none is lost.
"""

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench.delivery import queue_deliveries
from ecommerce_streams.harness.kafka import EmbeddedKafka
from ecommerce_streams.harness.partner import Partner
from ecommerce_streams.harness.verify.reading import TopicReader
from ecommerce_streams.operations.topic_setup import ensure_topics
from ecommerce_streams.topic_names import TopicNames
from tests.web_events import unique

pytestmark = pytest.mark.chaos

RECORDS = 3000


def start_delivery(
    bootstrap: str, names: TopicNames, app_id: str, log: Path
) -> subprocess.Popen[bytes]:
    """One delivery process of the deployment, logging to ``log``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ES_")}
    env.update(
        ES_BROKER=bootstrap,
        ES_APP_ID=app_id,
        ES_TOPIC_PREFIX=names.prefix,
        ES_DELIVERY_BASE_DELAY_SECONDS="0.1",
        ES_DELIVERY_MAX_DELAY_SECONDS="2",
        PYTHONUNBUFFERED="1",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "ecommerce_streams.cli", "deliver"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def committed_everything(bootstrap: str, group: str, topic: str) -> bool:
    """Whether the group's committed offsets reached the end of every partition."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    async with TopicReader(bootstrap, [topic]) as reader:
        await reader.catch_up()
        ends = {TopicPartition(topic, p): 0 for p in range(4)}
        for record in reader.records[topic]:
            tp = TopicPartition(topic, record.partition)
            ends[tp] = max(ends[tp], record.offset + 1)
    return all(
        committed.get(tp) is not None and committed[tp].offset >= end for tp, end in ends.items()
    )


async def test_every_delivery_reaches_the_partner_through_kills_and_a_broker_restart(
    kafka: EmbeddedKafka, tmp_path: Path
) -> None:
    bootstrap = kafka.bootstrap
    names = TopicNames(f"{unique('chaos-deliver')}.")
    app_id = unique("deliveries")
    await ensure_topics(bootstrap, names, partitions=4)
    async with Partner(failure_share=0.2, slow_share=0.02, slow_seconds=0.3, seed=5) as partner:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            queued = await queue_deliveries(
                producer, names.http_deliveries, f"{partner.url}/p", RECORDS, 1500
            )
        finally:
            await producer.stop()
        log = tmp_path / "deliver.log"
        processes = [start_delivery(bootstrap, names, app_id, log) for _ in range(2)]
        try:
            for _ in range(2):
                await asyncio.sleep(4)
                processes[0].send_signal(signal.SIGKILL)
                processes[0].wait()
                processes[0] = start_delivery(bootstrap, names, app_id, log)
            await asyncio.sleep(2)
            await asyncio.to_thread(kafka.restart)
            deadline = asyncio.get_running_loop().time() + 240
            while len(partner.delivered()) < RECORDS:
                assert asyncio.get_running_loop().time() < deadline, log.read_text()[-3000:]
                await asyncio.sleep(0.5)
            while not await committed_everything(
                bootstrap, f"{app_id}-deliveries", names.http_deliveries
            ):
                assert asyncio.get_running_loop().time() < deadline, "offsets never reached the end"
                await asyncio.sleep(1)
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=30)

    async with TopicReader(bootstrap, [names.dead_letters]) as reader:
        await reader.catch_up()
        letters = reader.records[names.dead_letters]
    requests = Counter(request.key for request in partner.received)
    print(f"{len(partner.received)} requests for {RECORDS} records: {requests.most_common(3)}")
    assert set(partner.delivered()) == set(queued)  # every record, under its own key
    assert set(requests) == set(queued)  # no request without a record's key
    assert letters == []
