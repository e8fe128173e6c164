"""Dead letters: the one way any stage sets aside input it cannot apply, with the reason."""

import logging
from datetime import UTC, datetime

from faust.types import EventT

from ecommerce_streams import metrics
from ecommerce_streams.exactly_once import outbox
from ecommerce_streams.exactly_once.outbox import Placement
from ecommerce_streams.worker import topics
from ecommerce_streams.worker.app import app
from models.dead_letter import DeadLetter

logger = logging.getLogger(__name__)


async def send_dead_letter(event: EventT[bytes], *, stage: str, error: str, category: str) -> None:
    """Publish the event's original bytes and the reason, in the event's transaction."""
    message = event.message
    letter = DeadLetter.of(
        message.value if message.value is not None else b"",  # a tombstone keeps no bytes
        message.key,
        source_topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        error=error,
        stage=stage,
        failed_at=datetime.fromtimestamp(message.timestamp, UTC),
    )
    await _send(letter, message.key, category)


async def send_written_dead_letter(
    topic: str,
    key: bytes,
    value: bytes,
    written: Placement,
    *,
    stage: str,
    error: str,
    category: str,
) -> None:
    """Publish the reason a record this worker wrote (at ``written``) failed, in its transaction."""
    letter = DeadLetter.of(
        value,
        key,
        source_topic=topic,
        partition=written.partition,
        offset=written.offset,
        error=error,
        stage=stage,
        failed_at=datetime.now(UTC),
    )
    await _send(letter, key, category)


async def _send(letter: DeadLetter, key: bytes | None, category: str) -> None:
    """Send one dead letter in the open transaction, count it and log it."""
    await outbox.send(app, topics.dead_letters, key, letter.to_bytes())
    metrics.dead_letters_sent.labels(letter.stage, letter.source_topic, category).inc()
    logger.info(
        "dead letter %s[%s]@%s (%s): %s",
        letter.source_topic,
        letter.partition,
        letter.offset,
        category,
        letter.error,
    )
