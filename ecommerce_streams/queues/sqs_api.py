"""SQS's JSON protocol over HTTP: ``POST /`` with ``X-Amz-Target: AmazonSQS.<Action>``.

The actions of :class:`~ecommerce_streams.queues.store.QueueStore` with SQS's request and
answer fields, so an SQS client pointed at this server (``endpoint_url``) can use our
queues: CreateQueue, GetQueueUrl, ListQueues, DeleteQueue, GetQueueAttributes,
SetQueueAttributes, SendMessage, ReceiveMessage (long polling with ``WaitTimeSeconds``
up to 20), DeleteMessage, ChangeMessageVisibility, and the redrive of dead letters:
StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask. A refusal is HTTP 400 with
``{"__type": "com.amazonaws.sqs#<Error>", "message": ...}``; a body over 1 MiB, a body
that is not a JSON object, or an unknown action is refused the same way; nothing a
client sends reaches the store unchecked.
"""

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ecommerce_streams.queues.move_tasks import MoveTasks
from ecommerce_streams.queues.store import QueueStore
from models.queues.attributes import ACCOUNT
from models.routing.checks import AwsError

AMZ_JSON = "application/x-amz-json-1.0"
MAX_REQUEST_BYTES = 1024 * 1024
MAX_WAIT_SECONDS = 20


@dataclass(frozen=True)
class SqsServer:
    """What the actions act on: the store, its move tasks, and the server's base URL."""

    store: QueueStore
    tasks: MoveTasks
    base: str


Action = Callable[[SqsServer, Mapping[str, Any]], Awaitable[dict[str, Any]]]


def _string(request: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = request.get(name)
    if value is None:
        if required:
            raise AwsError("MissingParameter", f"The request must contain the parameter {name}.")
        return None
    if not isinstance(value, str):
        raise AwsError("InvalidParameterValue", f"Value for parameter {name} must be a string.")
    return value


def _integer(request: Mapping[str, Any], name: str) -> int | None:
    value = request.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise AwsError("InvalidParameterValue", f"Value for parameter {name} must be an integer.")
    return int(value)


def _map(request: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = request.get(name, {})
    if not isinstance(value, dict):
        raise AwsError("InvalidParameterValue", f"Value for parameter {name} must be a map.")
    return value


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def queue_url(base: str, name: str) -> str:
    """The URL of a queue on this server."""
    return f"{base}/{ACCOUNT}/{name}"


def _queue_name(request: Mapping[str, Any]) -> str:
    url = _string(request, "QueueUrl")
    assert url is not None
    return url.rstrip("/").rsplit("/", 1)[-1]


async def create_queue(server: SqsServer, request: Mapping[str, Any]) -> dict[str, Any]:
    """CreateQueue."""
    name = _string(request, "QueueName")
    assert name is not None
    await server.store.create_queue(name, _map(request, "Attributes"), _map(request, "tags"))
    return {"QueueUrl": queue_url(server.base, name)}


async def get_queue_url(server: SqsServer, request: Mapping[str, Any]) -> dict[str, Any]:
    """GetQueueUrl."""
    name = _string(request, "QueueName")
    assert name is not None
    server.store.attributes(name)  # QueueDoesNotExist if it does not
    return {"QueueUrl": queue_url(server.base, name)}


async def list_queues(server: SqsServer, request: Mapping[str, Any]) -> dict[str, Any]:
    """ListQueues, optionally of the names starting with ``QueueNamePrefix``."""
    prefix = _string(request, "QueueNamePrefix", required=False) or ""
    names = sorted(name for name in server.store.queues if name.startswith(prefix))
    return {"QueueUrls": [queue_url(server.base, name) for name in names]}


async def delete_queue(server: SqsServer, request: Mapping[str, Any]) -> dict[str, Any]:
    """DeleteQueue."""
    await server.store.delete_queue(_queue_name(request))
    return {}


async def get_queue_attributes(server: SqsServer, request: Mapping[str, Any]) -> dict[str, Any]:
    """GetQueueAttributes (``AttributeNames`` or All)."""
    wanted = request.get("AttributeNames") or ["All"]
    if not isinstance(wanted, list) or not all(isinstance(name, str) for name in wanted):
        raise AwsError("InvalidParameterValue", "AttributeNames must be a list of strings.")
    every = server.store.attributes(_queue_name(request))
    if "All" in wanted:
        return {"Attributes": every}
    return {"Attributes": {name: every[name] for name in wanted if name in every}}


async def set_queue_attributes(server: SqsServer, request: Mapping[str, Any]) -> dict[str, Any]:
    """SetQueueAttributes."""
    await server.store.set_attributes(_queue_name(request), _map(request, "Attributes"))
    return {}


async def send_message(server: SqsServer, request: Mapping[str, Any]) -> dict[str, Any]:
    """SendMessage."""
    body = _string(request, "MessageBody")
    assert body is not None
    message = await server.store.send(
        _queue_name(request),
        body,
        delay_seconds=_integer(request, "DelaySeconds"),
        attributes=_map(request, "MessageAttributes"),
        group_id=_string(request, "MessageGroupId", required=False),
        deduplication_id=_string(request, "MessageDeduplicationId", required=False),
    )
    answer = {"MessageId": message.message_id, "MD5OfMessageBody": message.md5_of_body}
    if message.group_id is not None:
        answer["SequenceNumber"] = str(message.sequence)
    return answer


async def receive_message(server: SqsServer, request: Mapping[str, Any]) -> dict[str, Any]:
    """ReceiveMessage."""
    wait = _integer(request, "WaitTimeSeconds")
    name = _queue_name(request)
    if wait is None:
        wait = int(server.store.attributes(name)["ReceiveMessageWaitTimeSeconds"])
    if not 0 <= wait <= MAX_WAIT_SECONDS:
        raise AwsError(
            "InvalidParameterValue",
            f"Value {wait} for parameter WaitTimeSeconds is invalid. Reason: must be between "
            f"0 and {MAX_WAIT_SECONDS}, if provided.",
        )
    received = await server.store.receive(
        name,
        max_messages=_or(_integer(request, "MaxNumberOfMessages"), 1),
        visibility_timeout=_integer(request, "VisibilityTimeout"),
        wait_seconds=wait,
    )
    return {"Messages": [message.answer() for message in received]}


async def delete_message(server: SqsServer, request: Mapping[str, Any]) -> dict[str, Any]:
    """DeleteMessage."""
    handle = _string(request, "ReceiptHandle")
    assert handle is not None
    await server.store.delete_message(_queue_name(request), handle)
    return {}


async def change_message_visibility(
    server: SqsServer, request: Mapping[str, Any]
) -> dict[str, Any]:
    """ChangeMessageVisibility."""
    handle = _string(request, "ReceiptHandle")
    timeout = _integer(request, "VisibilityTimeout")
    assert handle is not None
    if timeout is None:
        raise AwsError(
            "MissingParameter", "The request must contain the parameter VisibilityTimeout."
        )
    await server.store.change_visibility(_queue_name(request), handle, timeout)
    return {}


async def start_message_move_task(server: SqsServer, request: Mapping[str, Any]) -> dict[str, Any]:
    """StartMessageMoveTask."""
    handle = await server.tasks.start(
        request.get("SourceArn"),
        request.get("DestinationArn"),
        request.get("MaxNumberOfMessagesPerSecond"),
    )
    return {"TaskHandle": handle}


async def list_message_move_tasks(server: SqsServer, request: Mapping[str, Any]) -> dict[str, Any]:
    """ListMessageMoveTasks."""
    return {"Results": server.tasks.list(request.get("SourceArn"))}


async def cancel_message_move_task(server: SqsServer, request: Mapping[str, Any]) -> dict[str, Any]:
    """CancelMessageMoveTask."""
    return {"ApproximateNumberOfMessagesMoved": server.tasks.cancel(request.get("TaskHandle"))}


ACTIONS: dict[str, Action] = {
    "CreateQueue": create_queue,
    "GetQueueUrl": get_queue_url,
    "ListQueues": list_queues,
    "DeleteQueue": delete_queue,
    "GetQueueAttributes": get_queue_attributes,
    "SetQueueAttributes": set_queue_attributes,
    "SendMessage": send_message,
    "ReceiveMessage": receive_message,
    "DeleteMessage": delete_message,
    "ChangeMessageVisibility": change_message_visibility,
    "StartMessageMoveTask": start_message_move_task,
    "ListMessageMoveTasks": list_message_move_tasks,
    "CancelMessageMoveTask": cancel_message_move_task,
}


def _refusal(error: AwsError) -> web.Response:
    body = {"__type": f"com.amazonaws.sqs#{error.aws_type}", "message": error.message}
    return web.Response(status=400, text=json.dumps(body), content_type=AMZ_JSON)


def sqs_application(store: QueueStore, base: str) -> web.Application:
    """The aiohttp application serving SQS's JSON protocol on ``store``."""

    server = SqsServer(store, MoveTasks(store), base)

    async def handle(request: web.Request) -> web.Response:
        target = request.headers.get("X-Amz-Target", "")
        action = ACTIONS.get(target.removeprefix("AmazonSQS."))
        try:
            if not target.startswith("AmazonSQS.") or action is None:
                raise AwsError("InvalidAction", f"The action {target or '(none)'} is not valid.")
            raw = await request.read()
            try:
                document = json.loads(raw or b"{}")
            except ValueError:
                raise AwsError("InvalidRequest", "The request body is not JSON.") from None
            if not isinstance(document, dict):
                raise AwsError("InvalidRequest", "The request body must be a JSON object.")
            answer = await action(server, document)
        except AwsError as refused:
            return _refusal(refused)
        except (KafkaError, OSError, TimeoutError) as unavailable:  # nothing stored or changed
            body = {"__type": "com.amazonaws.sqs#ServiceUnavailable", "message": repr(unavailable)}
            return web.Response(status=503, text=json.dumps(body), content_type=AMZ_JSON)
        return web.Response(text=json.dumps(answer), content_type=AMZ_JSON)

    registry = CollectorRegistry()
    registry.register(QueueCollector(store))

    async def metrics_page(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), content_type="text/plain")

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "queues": len(store.queues)})

    async def resume_tasks(app: web.Application) -> None:
        await server.tasks.resume()

    async def stop_tasks(app: web.Application) -> None:
        await server.tasks.stop()

    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app.on_startup.append(resume_tasks)
    app.on_cleanup.append(stop_tasks)
    app.router.add_post("/", handle)
    app.router.add_get("/metrics", metrics_page)
    app.router.add_get("/health", health)
    return app


class QueueCollector(Collector):
    """Per queue, on each scrape: visible, in flight, delayed messages and the oldest's age."""

    def __init__(self, store: QueueStore) -> None:
        self.store = store

    def collect(self) -> Iterable[Metric]:
        """The gauges of every queue now."""
        names = {
            "ApproximateNumberOfMessages": ("es_queue_visible", "Messages visible now."),
            "ApproximateNumberOfMessagesNotVisible": (
                "es_queue_in_flight",
                "Messages received and not yet deleted or back.",
            ),
            "ApproximateNumberOfMessagesDelayed": ("es_queue_delayed", "Messages not yet due."),
            "ApproximateAgeOfOldestMessage": (
                "es_queue_oldest_age_seconds",
                "Age of the oldest message, from its first send.",
            ),
        }
        gauges = {
            attribute: GaugeMetricFamily(metric, text, labels=["queue"])
            for attribute, (metric, text) in names.items()
        }
        for queue in list(self.store.queues):
            attributes = self.store.attributes(queue)
            for attribute, gauge in gauges.items():
                gauge.add_metric([queue], float(attributes.get(attribute, 0)))
        yield from gauges.values()
