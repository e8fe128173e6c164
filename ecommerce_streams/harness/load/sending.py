"""Produce a generated stream to Kafka, paced or flat out, and wait for every delivery."""

import asyncio
import math
from contextlib import nullcontext
from typing import Any

from aiokafka import AIOKafkaProducer
from tqdm import tqdm

from ecommerce_streams.harness.load.profile import LoadProfile
from ecommerce_streams.harness.load.rate_limit import TokenBucket
from ecommerce_streams.harness.load.summary import LoadSummary
from ecommerce_streams.harness.load.traffic import generate
from ecommerce_streams.topic_names import TopicNames


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
    bucket = TokenBucket(rate) if rate is not None else None
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    summary = LoadSummary()
    in_flight: set[asyncio.Future[Any]] = set()
    failures: list[BaseException] = []
    bar = tqdm(total=expected_messages(profile), unit="msg", desc="load") if progress else None

    def delivered(future: asyncio.Future[Any]) -> None:
        in_flight.discard(future)
        if future.cancelled():
            failures.append(asyncio.CancelledError())
        elif future.exception() is not None:
            failures.append(future.exception())
        elif bar is not None:
            bar.update()

    await producer.start()
    try:
        with bar if bar is not None else nullcontext():
            for message in generate(profile):
                if failures:
                    break
                if bucket is not None:
                    await bucket.take()
                future = await producer.send(
                    topics.name(message.topic_role), message.value, key=message.key
                )
                in_flight.add(future)
                future.add_done_callback(delivered)
                summary.add(message)
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
    return summary
