"""``POST /events``: the shop's systems hand in source events; 202 once the broker has them.

The events go out through this worker's own idempotent producer (``acks=all``), not
Faust's transactional producers: an ingested event must never be committed or aborted
together with whatever the agents happen to be processing. A batch is validated in
full before anything is sent. When a send fails the answer is 503 and some events of
the batch may already be on their topic; sending the same batch again is safe because
the agents drop events whose id they applied within ``ES_DEDUP_WINDOW_SECONDS``.
"""

import asyncio
import logging
from typing import Any

from aiokafka.errors import KafkaError
from aiokafka.structs import RecordMetadata
from faust.web import Request, Response, View

from ecommerce_streams import metrics
from ecommerce_streams.kafka_producer import IdempotentProducer
from ecommerce_streams.schemas.framed import RegistryUnavailable
from ecommerce_streams.web.admission import InflightLimit, read_body
from ecommerce_streams.web.event_batch import SourceEvent, read_batch
from ecommerce_streams.web.guard import Access, Endpoint, served
from ecommerce_streams.web.problems import Problem
from ecommerce_streams.worker.app import app, settings
from ecommerce_streams.worker.schemas import framed_events
from models.schemas.framing import InvalidFraming, is_framed

FRAMED_MEDIA_TYPE = "application/octet-stream"
"""The media type of a body that is one value in Confluent's framing."""

logger = logging.getLogger(__name__)
ACKNOWLEDGE_SECONDS = 20.0
"""Longest a request waits for its events to be acknowledged (acks=all) before its 503: the
producer retries a write its leader cannot replicate enough (``min.insync.replicas``) for
as long as it can; the client is told sooner, and sending again is safe (deduplication)."""


class EventProducer(IdempotentProducer):
    """The worker's producer for ingested events, started on first use and once only."""

    async def publish(self, events: list[SourceEvent]) -> list[RecordMetadata]:
        """Send every event keyed by its payload key; return once each one is acknowledged.

        Raises a 503 Problem when the broker cannot be reached or refuses a send.
        """
        deliveries: list[asyncio.Future[RecordMetadata]] = []
        try:
            producer = await self.started()
            for event in events:
                topic = settings.topics.name(event.topic)
                deliveries.append(await producer.send(topic, event.value, key=event.key))
        except (KafkaError, OSError) as exc:
            await asyncio.gather(*deliveries, return_exceptions=True)
            raise _broker_unavailable(exc) from exc
        receipts: list[RecordMetadata] = []
        try:
            outcomes = await asyncio.wait_for(
                asyncio.gather(*deliveries, return_exceptions=True), ACKNOWLEDGE_SECONDS
            )
        except TimeoutError as exc:  # e.g. fewer replicas in sync than min.insync.replicas
            raise _broker_unavailable(exc) from exc
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise _broker_unavailable(outcome) from outcome
            receipts.append(outcome)
        return receipts


def _broker_unavailable(exc: BaseException) -> Problem:
    logger.warning("ingestion: send failed: %r", exc)
    return Problem(
        503,
        "broker-unavailable",
        "Events not stored",
        f"the broker did not acknowledge every event ({type(exc).__name__}); send the batch"
        " again: events already stored are recognised by their event id",
        headers={"Retry-After": "1"},
    )


producer = EventProducer(settings.bootstrap)
inflight = InflightLimit(settings.max_inflight_requests)


@app.on_before_shutdown.connect
async def _stop_producer(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
    """Close the ingestion producer when the worker shuts down."""
    await producer.stop()


async def read_framed(body: bytes) -> list[SourceEvent]:
    """One event in Confluent's framing, checked against its schema; sent on framed as it came."""
    if not is_framed(body):
        raise Problem(
            400,
            "invalid-events",
            "Invalid events",
            f"a {FRAMED_MEDIA_TYPE} body is one value in Confluent's framing: "
            "byte 0, a 4-byte schema id, then the event's JSON",
        )
    try:
        plain = await framed_events().plain(body)
    except RegistryUnavailable as away:
        raise Problem(
            503,
            "registry-unavailable",
            "Schema registry unavailable",
            f"{away.reason}; nothing was accepted",
            headers={"Retry-After": "5"},
        ) from None
    except InvalidFraming as refused:
        raise Problem(400, "invalid-events", "Invalid events", refused.reason) from None
    events = read_batch(plain)
    if len(events) != 1:
        raise Problem(
            400, "invalid-events", "Invalid events", "a framed body holds one event, not an array"
        )
    return [SourceEvent(events[0].envelope, body)]


@app.endpoint("/events", Endpoint(Access.WRITE, accepts=("application/json", FRAMED_MEDIA_TYPE)))
class Events(View):
    """Ingestion of orders, payments and stock movements."""

    async def post(self, request: Request) -> Response:
        """202 with each event's topic, partition and offset; errors are raised as problems."""
        with inflight.admit():
            body = await read_body(served(request), settings.max_body_bytes)
            if served(request).content_type == FRAMED_MEDIA_TYPE:
                events = await read_framed(body)
            else:
                events = read_batch(body)
            receipts = await producer.publish(events)
        for event in events:
            metrics.events_ingested.labels(event.topic, event.envelope.event_type).inc()
        return self.json(
            {
                "accepted": [
                    {
                        "event_id": str(event.envelope.event_id),
                        "topic": receipt.topic,
                        "partition": receipt.partition,
                        "offset": receipt.offset,
                    }
                    for event, receipt in zip(events, receipts, strict=True)
                ]
            },
            status=202,
        )
