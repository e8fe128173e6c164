"""``ecommerce-streams queues``: serve the SQS-style queues, and call their actions.

The action commands speak SQS's JSON protocol to the queue server at
``http://ES_WEB_HOST:ES_QUEUE_PORT`` and print its JSON answer; a refusal is printed on
stderr with exit status 1.
"""

import asyncio
import json
from typing import Any

import click

from ecommerce_streams.cli.common import fail, load_settings


@click.group()
def queues() -> None:
    """SQS-style queues on Kafka."""


@queues.command()
def serve() -> None:
    """Serve the queues (SQS's JSON protocol) on ES_WEB_HOST:ES_QUEUE_PORT until stopped."""
    from ecommerce_streams.queues.server import serve_queues

    asyncio.run(serve_queues(load_settings()))


def _call(action: str, request: dict[str, Any]) -> dict[str, Any]:
    """One action on the queue server; print its answer (or its refusal, and exit 1)."""
    import aiohttp

    settings = load_settings()
    base = f"http://{settings.web_host}:{settings.queue_port}"

    async def post() -> tuple[int, dict[str, Any]]:
        headers = {"X-Amz-Target": f"AmazonSQS.{action}"}
        async with (
            aiohttp.ClientSession() as session,
            session.post(base + "/", data=json.dumps(request), headers=headers) as response,
        ):
            return response.status, json.loads(await response.read())

    try:
        status, answer = asyncio.run(post())
    except OSError as unreachable:
        fail(f"the queue server at {base} cannot be reached: {unreachable}")
    if status != 200:
        click.echo(json.dumps(answer), err=True)
        raise SystemExit(1)
    click.echo(json.dumps(answer, indent=2))
    return answer


def _url(name: str) -> str:
    settings = load_settings()
    return f"http://{settings.web_host}:{settings.queue_port}/000000000000/{name}"


@queues.command()
@click.argument("name")
@click.option("--attribute", "attributes", multiple=True, help="NAME=VALUE (repeatable).")
@click.option("--source-topic", help="Feed the queue from this Kafka topic.")
def create(name: str, attributes: tuple[str, ...], source_topic: str | None) -> None:
    """CreateQueue."""
    pairs = dict(item.partition("=")[::2] for item in attributes)
    tags = {"ecommerce-streams:source-topic": source_topic} if source_topic else {}
    _call("CreateQueue", {"QueueName": name, "Attributes": pairs, "tags": tags})


@queues.command(name="list")
@click.option("--prefix", default="", help="Only names starting with this.")
def list_queues(prefix: str) -> None:
    """ListQueues."""
    _call("ListQueues", {"QueueNamePrefix": prefix})


@queues.command()
@click.argument("name")
def attributes(name: str) -> None:
    """GetQueueAttributes: settings and approximate counts."""
    _call("GetQueueAttributes", {"QueueUrl": _url(name)})


@queues.command()
@click.argument("name")
@click.argument("body")
@click.option("--group", help="MessageGroupId (FIFO queues).")
@click.option("--delay", type=int, help="DelaySeconds.")
def send(name: str, body: str, group: str | None, delay: int | None) -> None:
    """SendMessage."""
    request: dict[str, Any] = {"QueueUrl": _url(name), "MessageBody": body}
    if group is not None:
        request["MessageGroupId"] = group
    if delay is not None:
        request["DelaySeconds"] = delay
    _call("SendMessage", request)


@queues.command()
@click.argument("name")
@click.option("--max", "max_messages", type=int, default=1, help="MaxNumberOfMessages.")
@click.option("--visibility", type=int, help="VisibilityTimeout of this receive.")
@click.option("--wait", type=int, default=0, help="WaitTimeSeconds (long polling).")
def receive(name: str, max_messages: int, visibility: int | None, wait: int) -> None:
    """ReceiveMessage."""
    request: dict[str, Any] = {
        "QueueUrl": _url(name),
        "MaxNumberOfMessages": max_messages,
        "WaitTimeSeconds": wait,
    }
    if visibility is not None:
        request["VisibilityTimeout"] = visibility
    _call("ReceiveMessage", request)


@queues.command()
@click.argument("name")
@click.argument("receipt_handle")
def delete(name: str, receipt_handle: str) -> None:
    """DeleteMessage."""
    _call("DeleteMessage", {"QueueUrl": _url(name), "ReceiptHandle": receipt_handle})


@queues.command()
@click.argument("name")
@click.argument("receipt_handle")
@click.option("--timeout", type=int, default=0, help="VisibilityTimeout (0 releases).")
def visibility(name: str, receipt_handle: str, timeout: int) -> None:
    """ChangeMessageVisibility."""
    request = {
        "QueueUrl": _url(name),
        "ReceiptHandle": receipt_handle,
        "VisibilityTimeout": timeout,
    }
    _call("ChangeMessageVisibility", request)


@queues.command()
@click.argument("dead_letter_queue")
@click.option("--to", "destination", help="Move to this queue (default: where each came from).")
@click.option("--rate", type=int, help="MaxNumberOfMessagesPerSecond.")
def redrive(dead_letter_queue: str, destination: str | None, rate: int | None) -> None:
    """StartMessageMoveTask from a dead-letter queue."""
    start_move_task(dead_letter_queue, destination, rate)


def start_move_task(dead_letter_queue: str, destination: str | None, rate: int | None) -> None:
    """StartMessageMoveTask on the queue server: back where each came from, or ``destination``."""
    from models.queues.attributes import queue_arn

    request: dict[str, Any] = {"SourceArn": queue_arn(dead_letter_queue)}
    if destination is not None:
        request["DestinationArn"] = queue_arn(destination)
    if rate is not None:
        request["MaxNumberOfMessagesPerSecond"] = rate
    _call("StartMessageMoveTask", request)


@queues.command()
@click.argument("dead_letter_queue")
def moves(dead_letter_queue: str) -> None:
    """ListMessageMoveTasks of a dead-letter queue."""
    from models.queues.attributes import queue_arn

    _call("ListMessageMoveTasks", {"SourceArn": queue_arn(dead_letter_queue)})
