"""The queue server while the broker restarts: it refuses what it cannot store, loses nothing.

Set ES_TEST_ABANDON=stop to close a failed producer the ordinary way: once the broker is
back it opens a transaction again, which the next producer's start aborts, and with it an
answered send whose commit markers the restarted broker skipped (gap 16).
"""

import asyncio
import json
import os
import struct
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiokafka import AIOKafkaConsumer, TopicPartition

import ecommerce_streams.queues.store as queue_store
from ecommerce_streams.harness.kafka import EmbeddedKafka
from ecommerce_streams.kafka_admin import admin_client
from ecommerce_streams.operations.topic_setup import ensure_control_topics
from ecommerce_streams.queues.sqs_api import sqs_application
from ecommerce_streams.queues.store import QueueStore
from ecommerce_streams.topic_names import TopicNames
from tests.web_events import unique

pytestmark = pytest.mark.chaos


async def call(url: str, action: str, **request: object) -> tuple[int, dict[str, object]]:
    """One SQS action; status and JSON answer."""
    headers = {"X-Amz-Target": f"AmazonSQS.{action}"}
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=90)) as session,
        session.post(url + "/", data=json.dumps(request), headers=headers) as response,
    ):
        return response.status, json.loads(await response.read())


async def every_body_in_the_log(bootstrap: str, topic: str) -> list[str]:
    """The body of every message record in ``topic``, committed or not."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, isolation_level="read_uncommitted", enable_auto_commit=False
    )
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        end = (await consumer.end_offsets([partition]))[partition]
        bodies = []
        while await consumer.position(partition) < end:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                bodies += [json.loads(r.value)["body"] for r in records if r.key[:2] == b"m/"]
        return bodies
    finally:
        await consumer.stop()


TRANSACTION_STATES = {1: "Ongoing", 2: "PrepareCommit", 3: "PrepareAbort", 4: "CompleteCommit"}


async def transaction_states(bootstrap: str, transactional_id: str) -> list[str]:
    """Every state the broker's transaction log recorded for ``transactional_id``, in order."""
    async with admin_client(bootstrap) as admin:
        [described] = await admin.describe_topics(["__transaction_state"])
    partitions = [
        TopicPartition("__transaction_state", p["partition"]) for p in described["partitions"]
    ]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        states = []
        while any([await consumer.position(tp) < end for tp, end in ends.items()]):
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    (length,) = struct.unpack(">h", record.key[2:4])
                    if record.key[4 : 4 + length].decode() == transactional_id and record.value:
                        states.append(TRANSACTION_STATES.get(record.value[16], "other"))
        return states
    finally:
        await consumer.stop()


async def test_a_broker_restart_refuses_sends_it_cannot_store_and_keeps_what_it_answered(
    kafka: EmbeddedKafka, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue_store, "STORE_TIMEOUT_SECONDS", 10.0)
    if os.environ.get("ES_TEST_ABANDON") == "stop":
        monkeypatch.setattr(queue_store, "_abandoned", queue_store._stopped)
    names = TopicNames(f"{unique('sqs')}.")
    await ensure_control_topics(kafka.bootstrap, names)
    store = QueueStore(kafka.bootstrap, names.queue_state, transactional_id=unique("queues"))
    await store.start()
    runner = web.AppRunner(sqs_application(store, "http://sqs.local"), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        _, created = await call(url, "CreateQueue", QueueName="outage")
        queue = created["QueueUrl"]
        answered = []
        for n in range(5):
            status, _ = await call(url, "SendMessage", QueueUrl=queue, MessageBody=f"before {n}")
            answered.append(status)
        kafka.kill()
        during = [
            (await call(url, "SendMessage", QueueUrl=queue, MessageBody=f"during {n}"))
            for n in range(2)
        ]
        await asyncio.to_thread(kafka.start)
        after = None
        for _ in range(60):
            after = await call(url, "SendMessage", QueueUrl=queue, MessageBody="after")
            if after[0] == 200:
                break
            await asyncio.sleep(1)
        await runner.cleanup()
        await store.stop()

        restarted = QueueStore(
            kafka.bootstrap, names.queue_state, transactional_id=unique("queues")
        )
        await restarted.start()
        bodies = sorted(m.body for m in restarted.queues["outage"].messages.values())
        await restarted.stop()
        await asyncio.sleep(5)  # time for anything a failed producer still held to arrive
        logged = await every_body_in_the_log(kafka.bootstrap, names.queue_state)
        states = await transaction_states(kafka.bootstrap, store.transactional_id)
    finally:
        await runner.cleanup()

    accepted_during = [f"during {n}" for n, (status, _) in enumerate(during) if status == 200]
    assert answered == [200] * 5
    assert all(status in (200, 503) for status, _ in during)
    assert after is not None and after[0] == 200
    assert bodies == sorted([*(f"before {n}" for n in range(5)), *accepted_during, "after"])
    refused = {f"during {n}" for n, (status, _) in enumerate(during) if status != 200}
    assert refused.isdisjoint(logged)
    assert "PrepareAbort" not in states  # no failed transaction came back to be aborted
