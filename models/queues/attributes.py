"""A queue's name and attributes as SQS accepts them: ranges, defaults and AWS's refusals.

Attributes travel as strings, as in SQS's API. Bounds as AWS documents them:
``VisibilityTimeout`` 0..43200 s (default 30), ``MessageRetentionPeriod`` 60..1209600 s
(default 345600, 4 days), ``DelaySeconds`` 0..900 (default 0),
``ReceiveMessageWaitTimeSeconds`` 0..20 (default 0), ``MaximumMessageSize`` 1024..262144
bytes (default 262144), ``RedrivePolicy`` a JSON object with ``deadLetterTargetArn`` and
``maxReceiveCount`` 1..1000, ``FifoQueue`` and ``ContentBasedDeduplication`` ``true`` or
``false`` (a FIFO queue's name ends in ``.fifo``, and only a FIFO queue may set either).
Names are 1..80 characters of ``[A-Za-z0-9_-]`` (plus the ``.fifo`` suffix). Refusals are
``InvalidAttributeName``, ``InvalidAttributeValue`` and ``InvalidParameterValue``.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from models.routing.checks import AwsError

REGION = "local"
ACCOUNT = "000000000000"
FIFO_SUFFIX = ".fifo"
MAX_BODY_BYTES = 262_144

_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_INTEGER = re.compile(r"-?[0-9]+")
_QUEUE_ARN = re.compile(r"arn:aws:sqs:[a-z0-9-]+:[0-9]+:([A-Za-z0-9_-]{1,80}(?:\.fifo)?)")
_BOUNDS = {
    "VisibilityTimeout": (0, 43_200, 30),
    "MessageRetentionPeriod": (60, 1_209_600, 345_600),
    "DelaySeconds": (0, 900, 0),
    "ReceiveMessageWaitTimeSeconds": (0, 20, 0),
    "MaximumMessageSize": (1024, MAX_BODY_BYTES, MAX_BODY_BYTES),
}
_FLAGS = ("FifoQueue", "ContentBasedDeduplication")
ATTRIBUTE_NAMES = (*_BOUNDS, *_FLAGS, "RedrivePolicy")
MAX_RECEIVE_COUNT = 1000


def queue_arn(name: str) -> str:
    """The ARN of one of our queues."""
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def invalid_value(name: str, reason: str) -> AwsError:
    """SQS's refusal of one attribute's value."""
    return AwsError("InvalidAttributeValue", f"Invalid value for the parameter {name}. {reason}")


def check_queue_name(name: object, *, fifo: bool) -> str:
    """A valid queue name (a FIFO queue's ends in ``.fifo``), or InvalidParameterValue."""
    if not isinstance(name, str):
        raise AwsError("InvalidParameterValue", "QueueName must be a string")
    base = name.removesuffix(FIFO_SUFFIX) if fifo else name
    if fifo and not name.endswith(FIFO_SUFFIX):
        raise AwsError("InvalidParameterValue", "The name of a FIFO queue can only end with .fifo")
    if not _NAME.fullmatch(base) or len(name) > 80:
        raise AwsError(
            "InvalidParameterValue",
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        )
    return name


@dataclass(frozen=True)
class RedrivePolicy:
    """Where messages received too often go, and how often is too often."""

    dead_letter_queue: str
    """The name of the dead-letter queue (from ``deadLetterTargetArn``)."""
    max_receive_count: int


@dataclass(frozen=True)
class QueueAttributes:
    """A queue's settings, validated."""

    visibility_timeout: int = 30
    retention_seconds: int = 345_600
    delay_seconds: int = 0
    wait_seconds: int = 0
    maximum_message_size: int = MAX_BODY_BYTES
    fifo: bool = False
    content_based_deduplication: bool = False
    redrive: RedrivePolicy | None = None

    def to_strings(self) -> dict[str, str]:
        """The attributes as SQS's GetQueueAttributes spells them."""
        answer = {
            "VisibilityTimeout": str(self.visibility_timeout),
            "MessageRetentionPeriod": str(self.retention_seconds),
            "DelaySeconds": str(self.delay_seconds),
            "ReceiveMessageWaitTimeSeconds": str(self.wait_seconds),
            "MaximumMessageSize": str(self.maximum_message_size),
        }
        if self.fifo:
            answer["FifoQueue"] = "true"
            answer["ContentBasedDeduplication"] = str(self.content_based_deduplication).lower()
        if self.redrive is not None:
            answer["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": queue_arn(self.redrive.dead_letter_queue),
                    "maxReceiveCount": self.redrive.max_receive_count,
                }
            )
        return answer


def _integer(name: str, text: str) -> int:
    low, high, _ = _BOUNDS[name]
    if not _INTEGER.fullmatch(text.strip()):
        raise invalid_value(name, "Value must be an integer.")
    value = int(text)
    if not low <= value <= high:
        raise invalid_value(name, f"Value must be between {low} and {high}.")
    return value


def _flag(name: str, text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise invalid_value(name, "Value must be true or false.")
    return text.lower() == "true"


def _redrive(text: str) -> RedrivePolicy:
    name = "RedrivePolicy"
    try:
        document = json.loads(text)
    except ValueError:
        raise invalid_value(name, "Value must be a JSON object.") from None
    if not isinstance(document, dict):
        raise invalid_value(name, "Value must be a JSON object.")
    arn, count = document.get("deadLetterTargetArn"), document.get("maxReceiveCount")
    found = _QUEUE_ARN.fullmatch(arn) if isinstance(arn, str) else None
    if found is None:
        raise invalid_value(name, "Dead-letter target ARN must be an SQS queue ARN.")
    if isinstance(count, str) and _INTEGER.fullmatch(count):
        count = int(count)
    if isinstance(count, bool) or not isinstance(count, int):
        raise invalid_value(name, "Value maxReceiveCount must be an integer.")
    if not 1 <= count <= MAX_RECEIVE_COUNT:
        raise invalid_value(
            name, f"Value maxReceiveCount must be between 1 and {MAX_RECEIVE_COUNT}."
        )
    return RedrivePolicy(found.group(1), count)


def attributes_from_request(
    attributes: Mapping[str, object], *, base: QueueAttributes | None = None
) -> QueueAttributes:
    """Attributes from a CreateQueue or SetQueueAttributes request (strings), over ``base``."""
    current = base or QueueAttributes()
    values = {
        "visibility_timeout": current.visibility_timeout,
        "retention_seconds": current.retention_seconds,
        "delay_seconds": current.delay_seconds,
        "wait_seconds": current.wait_seconds,
        "maximum_message_size": current.maximum_message_size,
        "fifo": current.fifo,
        "content_based_deduplication": current.content_based_deduplication,
        "redrive": current.redrive,
    }
    fields = {
        "VisibilityTimeout": "visibility_timeout",
        "MessageRetentionPeriod": "retention_seconds",
        "DelaySeconds": "delay_seconds",
        "ReceiveMessageWaitTimeSeconds": "wait_seconds",
        "MaximumMessageSize": "maximum_message_size",
    }
    for name, raw in attributes.items():
        if name not in ATTRIBUTE_NAMES:
            raise AwsError("InvalidAttributeName", f"Unknown Attribute {name}.")
        if not isinstance(raw, str):
            raise invalid_value(name, "Value must be a string.")
        if name in fields:
            values[fields[name]] = _integer(name, raw)
        elif name == "FifoQueue":
            values["fifo"] = _flag(name, raw)
        elif name == "ContentBasedDeduplication":
            values["content_based_deduplication"] = _flag(name, raw)
        else:
            values["redrive"] = _redrive(raw) if raw else None
    result = QueueAttributes(**values)  # type: ignore[arg-type]
    if result.content_based_deduplication and not result.fifo:
        raise invalid_value(
            "ContentBasedDeduplication", "Only FIFO queues support content-based deduplication."
        )
    return result
