"""SQS-style queues on the real broker, in SQS's JSON protocol over a real local server."""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiokafka import AIOKafkaProducer

from ecommerce_streams.operations.topic_setup import ensure_control_topics, ensure_target_topics
from ecommerce_streams.queues.sqs_api import sqs_application
from ecommerce_streams.queues.store import SOURCE_TAG, QueueStore
from ecommerce_streams.topic_names import TopicNames
from models.queues.attributes import queue_arn
from tests.web_client import eventually
from tests.web_events import unique

pytestmark = pytest.mark.integration


@dataclass
class Sqs:
    """A queue server of one isolated deployment, and how to call it."""

    broker: str
    names: TopicNames
    store: QueueStore
    url: str
    runner: web.AppRunner

    async def call(self, action: str, **request: Any) -> tuple[int, dict[str, Any]]:
        """One action; the HTTP status and the JSON answer."""
        return await self.raw(json.dumps(request).encode(), f"AmazonSQS.{action}")

    async def raw(self, body: bytes, target: str) -> tuple[int, dict[str, Any]]:
        """A request with any body and target."""
        headers = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"}
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url + "/", data=body, headers=headers) as response,
        ):
            return response.status, json.loads(await response.read())

    async def ok(self, action: str, **request: Any) -> dict[str, Any]:
        """An action that must succeed."""
        status, answer = await self.call(action, **request)
        assert status == 200, answer
        return answer


class Clock:
    """Time the test moves forward instead of sleeping."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def serve(
    broker: str, names: TopicNames, transactional_id: str, clock: Clock | None = None
) -> Sqs:
    """A started store and its server on a free port."""
    store = QueueStore(
        broker, names.queue_state, transactional_id=transactional_id, clock=clock or time.time
    )
    await store.start()
    runner = web.AppRunner(sqs_application(store, "http://sqs.local"), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return Sqs(broker, names, store, f"http://127.0.0.1:{port}", runner)


async def shut(sqs: Sqs) -> None:
    """Stop the server and its store."""
    await sqs.runner.cleanup()
    await sqs.store.stop()


@pytest.fixture
async def sqs(broker: str) -> AsyncIterator[Sqs]:
    """A queue server of a fresh deployment."""
    names = TopicNames(f"{unique('sqs')}.")
    await ensure_control_topics(broker, names)
    server = await serve(broker, names, unique("queues"))
    yield server
    await shut(server)


async def receive(sqs: Sqs, url: str, **options: Any) -> list[dict[str, Any]]:
    """The messages one ReceiveMessage hands out."""
    answer = await sqs.ok("ReceiveMessage", QueueUrl=url, **options)
    messages: list[dict[str, Any]] = answer["Messages"]
    return messages


async def test_a_received_message_is_leased_released_received_again_and_deleted_for_good(
    sqs: Sqs,
) -> None:
    url = (await sqs.ok("CreateQueue", QueueName="shipments-fr"))["QueueUrl"]
    sent = await sqs.ok("SendMessage", QueueUrl=url, MessageBody='{"order_id": "o-1"}')

    [first] = await receive(sqs, url)
    hidden = await receive(sqs, url)
    await sqs.ok(
        "ChangeMessageVisibility",
        QueueUrl=url,
        ReceiptHandle=first["ReceiptHandle"],
        VisibilityTimeout=0,
    )
    [again] = await receive(sqs, url)
    await sqs.ok("DeleteMessage", QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])
    after = await receive(sqs, url, WaitTimeSeconds=1)

    assert first["MessageId"] == again["MessageId"] == sent["MessageId"]
    assert first["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert hidden == [] and after == []
    assert (
        first["Attributes"]["ApproximateReceiveCount"],
        again["Attributes"]["ApproximateReceiveCount"],
    ) == ("1", "2")
    assert first["ReceiptHandle"] != again["ReceiptHandle"]


async def test_past_max_receive_count_a_message_moves_to_its_dead_letter_queue_unchanged(
    sqs: Sqs,
) -> None:
    dead = (await sqs.ok("CreateQueue", QueueName="warehouse-dlq"))["QueueUrl"]
    redrive = {"deadLetterTargetArn": queue_arn("warehouse-dlq"), "maxReceiveCount": 2}
    url = (
        await sqs.ok(
            "CreateQueue", QueueName="warehouse", Attributes={"RedrivePolicy": json.dumps(redrive)}
        )
    )["QueueUrl"]
    sent = await sqs.ok("SendMessage", QueueUrl=url, MessageBody="pick o-7")
    for _ in range(2):
        [message] = await receive(sqs, url)
        await sqs.ok(
            "ChangeMessageVisibility",
            QueueUrl=url,
            ReceiptHandle=message["ReceiptHandle"],
            VisibilityTimeout=0,
        )

    third = await receive(sqs, url)
    [moved] = await receive(sqs, dead)

    assert third == []
    assert (moved["MessageId"], moved["Body"]) == (sent["MessageId"], "pick o-7")
    assert moved["Attributes"]["ApproximateReceiveCount"] == "3"  # carried over, plus this one


async def test_the_queues_survive_a_restart_of_their_server(sqs: Sqs) -> None:
    url = (
        await sqs.ok("CreateQueue", QueueName="returns", Attributes={"VisibilityTimeout": "600"})
    )["QueueUrl"]
    for n in range(3):
        await sqs.ok("SendMessage", QueueUrl=url, MessageBody=f"return {n}")
    [leased, deleted] = await receive(sqs, url, MaxNumberOfMessages=2)
    await sqs.ok("DeleteMessage", QueueUrl=url, ReceiptHandle=deleted["ReceiptHandle"])
    await shut(sqs)

    restarted = await serve(sqs.broker, sqs.names, unique("queues"))
    try:
        counts = (await restarted.ok("GetQueueAttributes", QueueUrl=url))["Attributes"]
        [left] = await receive(restarted, url)
        await restarted.ok(
            "ChangeMessageVisibility",
            QueueUrl=url,
            ReceiptHandle=leased["ReceiptHandle"],
            VisibilityTimeout=0,
        )
        [released] = await receive(restarted, url)
    finally:
        sqs.runner, sqs.store = restarted.runner, restarted.store  # the fixture stops these

    assert (
        counts["ApproximateNumberOfMessages"],
        counts["ApproximateNumberOfMessagesNotVisible"],
    ) == ("1", "1")
    assert left["Body"] == "return 2"
    assert released["MessageId"] == leased["MessageId"]
    assert released["Attributes"]["ApproximateReceiveCount"] == "2"


async def test_a_fifo_queue_hands_out_a_groups_messages_in_order_one_at_a_time(sqs: Sqs) -> None:
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    url = (await sqs.ok("CreateQueue", QueueName="orders.fifo", Attributes=attributes))["QueueUrl"]
    for body in ("o-1 placed", "o-1 paid", "o-2 placed"):
        await sqs.ok("SendMessage", QueueUrl=url, MessageBody=body, MessageGroupId=body.split()[0])
    repeat = await sqs.ok(
        "SendMessage", QueueUrl=url, MessageBody="o-1 placed", MessageGroupId="o-1"
    )

    [first] = await receive(sqs, url)
    [second] = await receive(sqs, url)  # o-1 is in flight: its next message waits
    await sqs.ok("DeleteMessage", QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    [third] = await receive(sqs, url)

    assert [m["Body"] for m in (first, second, third)] == ["o-1 placed", "o-2 placed", "o-1 paid"]
    assert repeat["MessageId"] == first["MessageId"]  # deduplicated, not enqueued


@pytest.mark.parametrize(
    ("body", "target", "error"),
    [
        (b"{}", "AmazonSQS.Teleport", "InvalidAction"),
        (b"{}", "", "InvalidAction"),
        (b"not json", "AmazonSQS.ListQueues", "InvalidRequest"),
        (b"[1, 2]", "AmazonSQS.ListQueues", "InvalidRequest"),
        (b'{"QueueName": 7}', "AmazonSQS.CreateQueue", "InvalidParameterValue"),
        (b'{"QueueName": "a b"}', "AmazonSQS.CreateQueue", "InvalidParameterValue"),
        (
            b'{"QueueName": "q", "Attributes": {"Nope": "1"}}',
            "AmazonSQS.CreateQueue",
            "InvalidAttributeName",
        ),
        (b"{}", "AmazonSQS.SendMessage", "MissingParameter"),
        (
            b'{"QueueUrl": "http://x/0/none", "MessageBody": "x"}',
            "AmazonSQS.SendMessage",
            "QueueDoesNotExist",
        ),
        (
            b'{"QueueUrl": "http://x/0/none", "AttributeNames": 5}',
            "AmazonSQS.GetQueueAttributes",
            "InvalidParameterValue",
        ),
    ],
)
async def test_a_bad_request_gets_sqs_s_error_and_the_server_goes_on(
    sqs: Sqs, body: bytes, target: str, error: str
) -> None:
    status, answer = await sqs.raw(body, target)
    alive = await sqs.call("ListQueues")

    assert (status, answer["__type"]) == (400, f"com.amazonaws.sqs#{error}")
    assert answer["message"]
    assert alive[0] == 200


async def test_a_queue_fed_from_a_topic_takes_each_record_once_across_a_restart(sqs: Sqs) -> None:
    topic = unique("warehouse-fr")
    await ensure_target_topics(sqs.broker, [topic], partitions=2)
    tags = {SOURCE_TAG: topic}
    url = (await sqs.ok("CreateQueue", QueueName="warehouse-fr", tags=tags))["QueueUrl"]
    await produce(sqs.broker, topic, [f"shipment {n}" for n in range(20)])
    first = await visible_eventually(sqs, url, 20)
    for message in await receive(sqs, url, MaxNumberOfMessages=10):
        await sqs.ok("DeleteMessage", QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    await shut(sqs)

    restarted = await serve(sqs.broker, sqs.names, unique("queues"))
    sqs.runner, sqs.store = restarted.runner, restarted.store  # the fixture stops these
    await produce(sqs.broker, topic, [f"shipment {n}" for n in range(20, 25)])
    after = await visible_eventually(restarted, url, 15)
    bodies = [m["Body"] for m in await receive(restarted, url, MaxNumberOfMessages=10)]

    assert (first, after) == (20, 15)  # the deleted ten never fed again, the new five fed
    assert all(body.startswith("shipment ") for body in bodies)


async def produce(broker: str, topic: str, values: list[str]) -> None:
    """Records on ``topic``, acknowledged by every replica."""
    producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value.encode(), key=value.encode())
    finally:
        await producer.stop()


async def visible_eventually(sqs: Sqs, url: str, count: int) -> int:
    """The queue's visible messages once they reach ``count`` (or the last count seen)."""

    async def visible() -> int:
        answer = await sqs.ok("GetQueueAttributes", QueueUrl=url)
        return int(answer["Attributes"]["ApproximateNumberOfMessages"])

    await eventually(visible, lambda n: n >= count, timeout=60)
    await asyncio.sleep(1.0)  # a feed that took records twice would show it now
    return await visible()


async def dead_letters_of(sqs: Sqs, count: int) -> tuple[str, str, list[str]]:
    """A queue whose ``count`` messages were received too often: its URL, its dead-letter
    queue's URL, and the bodies."""
    dead = (await sqs.ok("CreateQueue", QueueName="partner-dlq"))["QueueUrl"]
    redrive = {"deadLetterTargetArn": queue_arn("partner-dlq"), "maxReceiveCount": 1}
    attributes = {"RedrivePolicy": json.dumps(redrive), "VisibilityTimeout": "0"}
    url = (await sqs.ok("CreateQueue", QueueName="partner", Attributes=attributes))["QueueUrl"]
    bodies = [f"notify c-{n}" for n in range(count)]
    for body in bodies:
        await sqs.ok("SendMessage", QueueUrl=url, MessageBody=body)
    await receive(sqs, url, MaxNumberOfMessages=10)  # each received once, not deleted
    assert await receive(sqs, url, MaxNumberOfMessages=10) == []  # now moved
    return url, dead, bodies


async def test_a_move_task_sends_dead_letters_back_to_their_queue_as_new_messages(sqs: Sqs) -> None:
    url, dead, bodies = await dead_letters_of(sqs, 3)
    dead_arn = queue_arn("partner-dlq")

    handle = (await sqs.ok("StartMessageMoveTask", SourceArn=dead_arn))["TaskHandle"]

    async def tasks() -> list[dict[str, Any]]:
        return (await sqs.ok("ListMessageMoveTasks", SourceArn=dead_arn))["Results"]

    [done] = await eventually(tasks, lambda got: got[0]["Status"] == "COMPLETED")
    back = await receive(sqs, url, MaxNumberOfMessages=10)
    left = await receive(sqs, dead, MaxNumberOfMessages=10)

    assert done["TaskHandle"] == handle
    assert (
        done["ApproximateNumberOfMessagesMoved"],
        done["ApproximateNumberOfMessagesToMove"],
    ) == (3, 3)
    assert sorted(m["Body"] for m in back) == sorted(bodies)
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in back} == {"1"}  # new messages
    assert left == []


async def test_one_move_task_per_source_runs_at_a_time_and_can_be_cancelled(sqs: Sqs) -> None:
    _, dead, _ = await dead_letters_of(sqs, 5)
    dead_arn = queue_arn("partner-dlq")

    await sqs.ok("StartMessageMoveTask", SourceArn=dead_arn, MaxNumberOfMessagesPerSecond=1)
    status, refused = await sqs.call("StartMessageMoveTask", SourceArn=dead_arn)
    [running] = (await sqs.ok("ListMessageMoveTasks", SourceArn=dead_arn))["Results"]
    await sqs.ok("CancelMessageMoveTask", TaskHandle=running["TaskHandle"])

    async def state() -> dict[str, Any]:
        return (await sqs.ok("ListMessageMoveTasks", SourceArn=dead_arn))["Results"][0]

    cancelled = await eventually(state, lambda task: task["Status"] == "CANCELLED")
    remaining = await receive(sqs, dead, MaxNumberOfMessages=10)

    assert (status, refused["__type"]) == (400, "com.amazonaws.sqs#UnsupportedOperation")
    assert cancelled["ApproximateNumberOfMessagesMoved"] < 5
    assert len(remaining) == 5 - cancelled["ApproximateNumberOfMessagesMoved"]


async def test_a_move_task_stopped_by_a_restart_resumes_and_moves_each_message_once(
    sqs: Sqs,
) -> None:
    url, dead, bodies = await dead_letters_of(sqs, 4)
    dead_arn = queue_arn("partner-dlq")
    await sqs.ok("StartMessageMoveTask", SourceArn=dead_arn, MaxNumberOfMessagesPerSecond=1)

    async def task_of(server: Sqs) -> dict[str, Any]:
        return (await server.ok("ListMessageMoveTasks", SourceArn=dead_arn))["Results"][0]

    before = await eventually(
        lambda: task_of(sqs), lambda task: task["ApproximateNumberOfMessagesMoved"] >= 1
    )
    await shut(sqs)
    restarted = await serve(sqs.broker, sqs.names, unique("queues"))
    try:
        stopped = await task_of(restarted)
        done = await eventually(lambda: task_of(restarted), lambda t: t["Status"] == "COMPLETED")
        back = await receive(restarted, url, MaxNumberOfMessages=10)
        left = await receive(restarted, dead, MaxNumberOfMessages=10)
    finally:
        sqs.runner, sqs.store = restarted.runner, restarted.store  # the fixture stops these

    assert before["ApproximateNumberOfMessagesMoved"] < 4
    assert stopped["TaskHandle"] == done["TaskHandle"] == before["TaskHandle"]
    assert stopped["ApproximateNumberOfMessagesMoved"] >= before["ApproximateNumberOfMessagesMoved"]
    assert (
        done["ApproximateNumberOfMessagesMoved"],
        done["ApproximateNumberOfMessagesToMove"],
    ) == (
        4,
        4,
    )
    assert sorted(m["Body"] for m in back) == sorted(bodies)  # each once
    assert left == []


async def test_each_queue_s_counts_are_on_the_metrics_page(sqs: Sqs) -> None:
    url = (await sqs.ok("CreateQueue", QueueName="invoices"))["QueueUrl"]
    for n in range(3):
        await sqs.ok("SendMessage", QueueUrl=url, MessageBody=f"invoice {n}")
    await receive(sqs, url)

    async with aiohttp.ClientSession() as session, session.get(sqs.url + "/metrics") as page:
        text = await page.text()

    assert 'es_queue_visible{queue="invoices"} 2.0' in text
    assert 'es_queue_in_flight{queue="invoices"} 1.0' in text
    assert 'es_queue_oldest_age_seconds{queue="invoices"}' in text


async def test_delays_leases_and_retention_follow_the_clock(broker: str) -> None:
    names = TopicNames(f"{unique('sqs')}.")
    await ensure_control_topics(broker, names)
    clock = Clock()
    sqs = await serve(broker, names, unique("queues"), clock)
    try:
        attributes = {
            "DelaySeconds": "60",
            "VisibilityTimeout": "120",
            "MessageRetentionPeriod": "600",
        }
        url = (await sqs.ok("CreateQueue", QueueName="timed", Attributes=attributes))["QueueUrl"]
        await sqs.ok("SendMessage", QueueUrl=url, MessageBody="later")
        during_delay = await receive(sqs, url)
        clock.now += 61
        [leased] = await receive(sqs, url)
        clock.now += 119
        during_lease = await receive(sqs, url)
        clock.now += 2
        [back] = await receive(sqs, url)
        clock.now += 600
        expired = await receive(sqs, url)
    finally:
        await shut(sqs)

    assert during_delay == [] and during_lease == [] and expired == []
    assert leased["MessageId"] == back["MessageId"]
    assert back["Attributes"]["ApproximateReceiveCount"] == "2"
