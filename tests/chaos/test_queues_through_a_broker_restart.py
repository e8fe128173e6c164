"""The queue server while the broker restarts: it refuses what it cannot store, loses nothing."""

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from ecommerce_streams.harness.kafka import EmbeddedKafka
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


async def test_a_broker_restart_refuses_sends_it_cannot_store_and_keeps_what_it_answered(
    kafka: EmbeddedKafka, tmp_path: Path
) -> None:
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
    finally:
        await runner.cleanup()

    accepted_during = [f"during {n}" for n, (status, _) in enumerate(during) if status == 200]
    assert answered == [200] * 5
    assert all(status in (200, 503) for status, _ in during)
    assert after is not None and after[0] == 200
    assert bodies == sorted([*(f"before {n}" for n in range(5)), *accepted_during, "after"])
