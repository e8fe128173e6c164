"""Produce a generated stream to Kafka, paced or flat out, and wait for every delivery."""

import asyncio
import math
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError
from tqdm import tqdm

from ecommerce_streams.harness.load.profile import LoadProfile
from ecommerce_streams.harness.load.rate_limit import TokenBucket
from ecommerce_streams.harness.load.summary import LoadSummary
from ecommerce_streams.harness.load.traffic import Outgoing, generate
from ecommerce_streams.topic_names import TopicNames

BACKLOG_LINGER_MS = 5
"""How long a backlog's records wait to fill a batch."""
PACED_LINGER_MS = 0
"""Paced records wait for no batch (bench/results/load-linger-20261202)."""


def expected_messages(profile: LoadProfile) -> int:
    """About how many messages the profile sends, for a progress bar's total."""
    per_order = 2 + profile.cancel_ratio
    events = profile.skus + profile.orders * per_order
    return math.ceil(events * (1 + profile.duplicate_ratio + profile.malformed_ratio))


async def send_load(
    bootstrap: str,
    topics: TopicNames,
    profile: LoadProfile,
    *,
    rate: float | None = None,
    progress: bool = False,
) -> LoadSummary:
    """Send the profile's stream to existing topics; return once every message is acknowledged.

    ``rate`` caps messages per second (None sends as fast as the producer takes them).
    Raises the first delivery error, after the remaining deliveries have settled.
    """
    summary = LoadSummary()
    await send_messages(
        bootstrap,
        topics,
        generate(profile),
        rate=rate,
        on_sent=summary.add,
        progress_total=expected_messages(profile) if progress else None,
    )
    return summary


async def send_messages(
    bootstrap: str,
    topics: TopicNames,
    messages: Iterable[Outgoing],
    *,
    rate: float | None = None,
    outage_tolerance_ms: int | None = None,
    on_sent: Callable[[Outgoing], None] | None = None,
    progress_total: int | None = None,
) -> None:
    """Produce messages (acks=all, idempotent), each on its role's topic; wait for every one.

    A backlog (no ``rate``) is batched for ``BACKLOG_LINGER_MS``; paced messages go out at
    once, as a shop sending tens of events per second would send them: a record's
    timestamp is set when it joins a batch, so a linger would count in every latency
    measured from it.

    ``rate`` caps messages per second; ``on_sent`` sees each message handed to the
    producer. With ``outage_tolerance_ms`` the producer waits out a broker that is
    restarting (at start and for each message) instead of failing. Stops at the first
    delivery error and raises it, after the remaining deliveries have settled.
    """
    bucket = TokenBucket(rate) if rate is not None else None
    linger_ms = BACKLOG_LINGER_MS if rate is None else PACED_LINGER_MS
    producer = await _started_producer(bootstrap, outage_tolerance_ms, linger_ms)
    in_flight: set[asyncio.Future[Any]] = set()
    failures: list[BaseException] = []
    bar = tqdm(total=progress_total, unit="msg", desc="load") if progress_total else None

    def delivered(future: asyncio.Future[Any]) -> None:
        in_flight.discard(future)
        if future.cancelled():
            failures.append(asyncio.CancelledError())
        elif (failure := future.exception()) is not None:
            failures.append(failure)
        elif bar is not None:
            bar.update()

    try:
        with bar if bar is not None else nullcontext():
            for message in messages:
                if failures:
                    break
                if bucket is not None:
                    await bucket.take()
                future = await producer.send(
                    topics.name(message.topic_role), message.value, key=message.key
                )
                in_flight.add(future)
                future.add_done_callback(delivered)
                if on_sent is not None:
                    on_sent(message)
            await producer.flush()
            if in_flight:
                await asyncio.wait(set(in_flight))
            if bar is not None:
                bar.total = bar.n
                bar.refresh()
    finally:
        await producer.stop()
    if failures:
        raise failures[0]


async def _started_producer(
    bootstrap: str, outage_tolerance_ms: int | None, linger_ms: int
) -> AIOKafkaProducer:
    """A started producer; with an outage tolerance, one that waits out a restarting broker."""
    deadline = time.monotonic() + (outage_tolerance_ms or 0) / 1000
    options = {} if outage_tolerance_ms is None else {"request_timeout_ms": outage_tolerance_ms}
    while True:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=linger_ms,
            **options,
        )
        try:
            await producer.start()
            return producer
        except KafkaConnectionError:
            await producer.stop()
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1)
