"""The delivery service: each record of ``http-deliveries`` POSTed to its endpoint or dead-lettered.

It reads ``http-deliveries`` (read_committed, its own consumer group) and delivers each
record concurrently: a failing or slow endpoint holds up only its own deliveries. Per
endpoint, at most ``concurrency`` requests at once and a circuit breaker
(:mod:`models.delivery.circuit_breaker`); per delivery, EventBridge's retry policy
(:mod:`models.delivery.retry_policy`). A record that succeeds (2xx) or is given up (a
4xx other than 408/429, retries spent, too old) is finished; a given-up one is first
written to ``dead-letters`` with the last status or error and the attempts made.

An offset is committed once every record before it is finished
(:class:`~models.delivery.window.OffsetWindow`): a crash or rebalance delivers again
what was unfinished, so delivery is at least once. Every request carries
``Idempotency-Key: <event id>:<route>``, the same for every attempt and redelivery, so
an endpoint can drop repeats. A record without an ``es-endpoint`` header, or with one
that is not an http(s) URL, is dead-lettered at once.
"""

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord

from ecommerce_streams import metrics
from ecommerce_streams.kafka_producer import IdempotentProducer
from models.dead_letter import DeadLetter
from models.delivery.circuit_breaker import BreakerState, CircuitBreaker
from models.delivery.retry_policy import (
    Answer,
    InvalidRetryPolicy,
    RetryPolicy,
    Verdict,
    judge_answer,
    next_retry,
)
from models.delivery.window import OffsetWindow
from models.routing.router import (
    ENDPOINT_HEADER,
    EVENT_ID_HEADER,
    RETRY_POLICY_HEADER,
    ROUTE_HEADER,
)
from models.routing.rules import DestinationKind, parse_destination

logger = logging.getLogger(__name__)

STAGE = "delivery"
COMMIT_INTERVAL_SECONDS = 1.0
FETCH_WAIT_MS = 200
BREAKER_POLL_SECONDS = 0.5
"""How often a delivery held by an open breaker looks again, at most."""


@dataclass(frozen=True)
class DeliveryConfig:
    """How the service delivers: topics, group, retry policy and per-endpoint limits."""

    bootstrap: str
    topic: str
    dead_letters: str
    group: str
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_seconds: float = 10.0
    concurrency_per_endpoint: int = 4
    max_in_flight: int = 1000
    breaker_failures: int = 5
    breaker_cooldown_seconds: float = 30.0


@dataclass
class Endpoint:
    """One endpoint's limit on concurrent requests, and its breaker."""

    requests: asyncio.Semaphore
    breaker: CircuitBreaker


def _header(record: ConsumerRecord[Any, Any], name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode("utf-8", "replace")
    return None


def idempotency_key(record: ConsumerRecord[Any, Any]) -> str:
    """The key an endpoint can drop repeats by: event id and route, else where it lies."""
    event_id, route = _header(record, EVENT_ID_HEADER), _header(record, ROUTE_HEADER)
    if event_id and route:
        return f"{event_id}:{route}"
    return f"{record.topic}:{record.partition}:{record.offset}"


class DeliveryService:
    """Delivers ``http-deliveries`` until stopped."""

    def __init__(
        self,
        config: DeliveryConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.rng = rng or random.Random()
        self.endpoints: dict[str, Endpoint] = {}
        self.windows: dict[TopicPartition, OffsetWindow] = {}
        self.deliveries: set[asyncio.Task[None]] = set()
        self.dead_letter_writer = IdempotentProducer(config.bootstrap)
        self._consumer: AIOKafkaConsumer | None = None
        self._session: aiohttp.ClientSession | None = None
        self._ready = asyncio.Event()

    async def wait_ready(self) -> None:
        """Wait until the consumer has started (partitions may still be assigned later)."""
        await self._ready.wait()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume, deliver and commit until ``stop`` is set; then commit what is finished."""
        config = self.config
        consumer = AIOKafkaConsumer(
            bootstrap_servers=config.bootstrap,
            group_id=config.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        consumer.subscribe([config.topic], listener=_CommitOnRevoke(self))
        timeout = aiohttp.ClientTimeout(total=config.timeout_seconds)
        self._session = aiohttp.ClientSession(timeout=timeout)
        await consumer.start()
        self._consumer = consumer
        self._ready.set()
        last_commit = self.clock()
        try:
            while not stop.is_set():
                await self._fetch(consumer)
                if self.clock() - last_commit >= COMMIT_INTERVAL_SECONDS:
                    await self.commit()
                    last_commit = self.clock()
        finally:
            await self.commit()
            for task in self.deliveries:
                task.cancel()
            await asyncio.gather(*self.deliveries, return_exceptions=True)
            await consumer.stop()
            await self._session.close()
            await self.dead_letter_writer.stop()

    async def _fetch(self, consumer: AIOKafkaConsumer) -> None:
        """Take new records while fewer than ``max_in_flight`` deliveries run."""
        assigned = consumer.assignment()
        if len(self.deliveries) >= self.config.max_in_flight:
            consumer.pause(*assigned)
        else:
            consumer.resume(*assigned)
        room = max(1, self.config.max_in_flight - len(self.deliveries))
        batches = await consumer.getmany(timeout_ms=FETCH_WAIT_MS, max_records=room)
        for tp, records in batches.items():
            window = self.windows.setdefault(tp, OffsetWindow())
            for record in records:
                window.received(record.offset)
                task = asyncio.create_task(self._deliver(tp, record))
                self.deliveries.add(task)
                task.add_done_callback(self.deliveries.discard)

    async def commit(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        """Commit, per partition, the offset after its longest finished prefix."""
        consumer = self._consumer
        if consumer is None:
            return
        wanted = set(partitions) if partitions is not None else consumer.assignment()
        offsets = {
            tp: window.committable
            for tp, window in self.windows.items()
            if tp in wanted and window.committable is not None
        }
        if offsets:
            with contextlib.suppress(Exception):  # a rebalance under way: the next one commits
                await consumer.commit(offsets)

    def endpoint(self, url: str) -> Endpoint:
        """The limits of one endpoint, created on first use."""
        found = self.endpoints.get(url)
        if found is None:
            config = self.config
            found = Endpoint(
                asyncio.Semaphore(config.concurrency_per_endpoint),
                CircuitBreaker(config.breaker_failures, config.breaker_cooldown_seconds),
            )
            self.endpoints[url] = found
        return found

    async def _deliver(self, tp: TopicPartition, record: ConsumerRecord[Any, Any]) -> None:
        """Deliver one record until it succeeds or is given up, then finish it."""
        metrics.deliveries_in_flight.inc()
        try:
            await self._attempts(record)
        finally:
            metrics.deliveries_in_flight.dec()
            window = self.windows.get(tp)
            if window is not None:
                window.finished(record.offset)

    async def _attempts(self, record: ConsumerRecord[Any, Any]) -> None:
        url = _header(record, ENDPOINT_HEADER)
        problem = _check_endpoint(url)
        if problem is not None:
            await self._give_up(record, problem, attempts=0)
            return
        assert url is not None
        endpoint = self.endpoint(url)
        policy = self.policy_of(record)
        retries = 0
        while True:
            await self._admitted(endpoint.breaker)
            async with endpoint.requests:
                answer = await self._post(url, record, attempt=retries + 1)
            if answer.endpoint_failed:
                endpoint.breaker.failed(self.clock())
            else:  # it answered: up, even when it refuses this message or throttles
                endpoint.breaker.succeeded()
            is_open = endpoint.breaker.state(self.clock()) is BreakerState.OPEN
            metrics.breaker_open.labels(origin(url)).set(1 if is_open else 0)
            if answer.verdict is Verdict.DELIVERED:
                metrics.deliveries.labels(origin(url), "delivered").inc()
                return
            age = time.time() - record.timestamp / 1000
            delay = next_retry(policy, answer, retries_done=retries, age_seconds=age, rng=self.rng)
            if delay is None:
                await self._give_up(record, answer.reason, attempts=retries + 1)
                return
            metrics.deliveries.labels(origin(url), "retried").inc()
            retries += 1
            await asyncio.sleep(delay)

    def policy_of(self, record: ConsumerRecord[Any, Any]) -> RetryPolicy:
        """The service's retry policy within the limits of the record's target, if it set any."""
        limits = _header(record, RETRY_POLICY_HEADER)
        if limits is None:
            return self.config.policy
        try:
            return self.config.policy.limited(json.loads(limits))
        except (ValueError, InvalidRetryPolicy, AttributeError) as invalid:
            logger.warning("ignoring the %s header %r: %s", RETRY_POLICY_HEADER, limits, invalid)
            return self.config.policy

    async def _admitted(self, breaker: CircuitBreaker) -> None:
        """Wait until the endpoint's breaker lets a request through."""
        while not breaker.admit(self.clock()):
            wait = breaker.wait_seconds(self.clock())
            await asyncio.sleep(min(max(wait, 0.01), BREAKER_POLL_SECONDS))

    async def _post(self, url: str, record: ConsumerRecord[Any, Any], *, attempt: int) -> Answer:
        """One attempt: POST the record's value with its idempotency key."""
        assert self._session is not None
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": idempotency_key(record),
            "X-Delivery-Attempt": str(attempt),
        }
        now = datetime.now(UTC)
        try:
            async with self._session.post(
                url, data=record.value or b"", headers=headers, allow_redirects=False
            ) as response:
                await response.read()
                return judge_answer(
                    response.status, retry_after=response.headers.get("Retry-After"), now=now
                )
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as error:
            return judge_answer(None, error=f"{type(error).__name__}: {error}", now=now)

    async def _give_up(self, record: ConsumerRecord[Any, Any], reason: str, attempts: int) -> None:
        """Write the record to the dead letters with the last reason, then it is finished."""
        letter = DeadLetter.of(
            record.value or b"",
            record.key,
            source_topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error=f"{reason} (after {attempts} attempt{'s' if attempts != 1 else ''})",
            stage=STAGE,
            failed_at=datetime.now(UTC),
        ).model_copy(update={"attempts": max(1, attempts)})
        producer = await self.dead_letter_writer.started()
        await producer.send_and_wait(self.config.dead_letters, letter.to_bytes(), key=record.key)
        url = _header(record, ENDPOINT_HEADER)
        metrics.deliveries.labels(origin(url) if url else "-", "dead-lettered").inc()
        logger.info("delivery %s gave up: %s", idempotency_key(record), letter.error)


def origin(url: str) -> str:
    """An endpoint's scheme, host and port: the label of its metrics (paths would be many)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _check_endpoint(url: str | None) -> str | None:
    """Why a record's endpoint cannot be delivered to, or None."""
    if not url:
        return f"the record has no {ENDPOINT_HEADER} header"
    try:
        kind = parse_destination(url).kind
    except ValueError as invalid:
        return f"endpoint {url!r}: {invalid}"
    if kind is DestinationKind.KAFKA:
        return f"endpoint {url!r} is not an http(s) URL"
    return None


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Commit what is finished before partitions go; forget their windows."""

    def __init__(self, service: DeliveryService) -> None:
        self.service = service

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self.service.commit(revoked)
        for tp in revoked:
            self.service.windows.pop(tp, None)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        return None
