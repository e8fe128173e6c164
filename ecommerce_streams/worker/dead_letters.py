"""Dead letters: the one way any stage sets aside input it cannot apply, with the reason."""

import logging
from datetime import UTC, datetime

from faust.types import EventT

from ecommerce_streams import metrics
from ecommerce_streams.exactly_once import outbox
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
    await outbox.send(app, topics.dead_letters, message.key, letter.to_bytes())
    metrics.dead_letters_sent.labels(stage, message.topic, category).inc()
    logger.info(
        "dead letter %s[%s]@%s (%s): %s",
        message.topic,
        message.partition,
        message.offset,
        category,
        error,
    )
