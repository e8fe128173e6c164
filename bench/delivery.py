"""Deliveries per second to a local endpoint that fails 0 % or 20 % of requests, and their latency.

For each failure share, on a fresh ``http-deliveries`` topic (4 partitions):

- **throughput**: ``records`` deliveries queued first, then the delivery service started
  (in this process); deliveries/s from its start to the last first success, the
  attempts per delivery, and this process's CPU per delivery (service, HTTP client
  *and* the partner's server: an upper bound of the service's own);
- **latency**: with the service running, records queued at ``rate`` per second; from the
  moment a record is queued to its first successful request at the endpoint, p50/p99.

Retries use a quick policy (first delay ceiling 50 ms, at most 1 s) so that failures
show in the figures without dominating the run.
"""

import asyncio
import json
import resource
import statistics
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaProducer

from ecommerce_streams.delivery.service import DeliveryConfig, DeliveryService
from ecommerce_streams.harness.partner import Partner
from ecommerce_streams.operations.topic_setup import ensure_topics
from ecommerce_streams.topic_names import TopicNames
from models.delivery.retry_policy import RetryPolicy
from models.routing.router import ENDPOINT_HEADER, EVENT_ID_HEADER, ROUTE_HEADER

POLICY = RetryPolicy(base_delay_seconds=0.05, max_delay_seconds=1.0)
BODY = json.dumps({"detail-type": "OrderConfirmed", "detail": {"order_id": "o", "total": 612.5}})


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


ROUTE = "rule/bench/partner"


async def queue_deliveries(
    producer: AIOKafkaProducer, topic: str, url: str, count: int, rate: float | None
) -> dict[str, float]:
    """Queue ``count`` deliveries to ``url``, at ``rate`` per second or at once; the
    wall-clock time each was queued, by its idempotency key."""
    started = time.monotonic()
    queued: dict[str, float] = {}
    for n in range(count):
        event_id = str(uuid.uuid4())
        headers = [
            (ENDPOINT_HEADER, url.encode()),
            (ROUTE_HEADER, ROUTE.encode()),
            (EVENT_ID_HEADER, event_id.encode()),
        ]
        queued[f"{event_id}:{ROUTE}"] = time.time()
        await producer.send(topic, BODY.encode(), key=f"o-{n}".encode(), headers=headers)
        if rate is not None:
            ahead = started + (n + 1) / rate - time.monotonic()
            if ahead > 0:
                await asyncio.sleep(ahead)
    await producer.flush()
    return queued


async def _until_delivered(partner: Partner, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(partner.delivered()) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(partner.delivered())} of {count} delivered in {timeout}s")
        await asyncio.sleep(0.05)


async def measure_share(
    bootstrap: str, failure_share: float, *, records: int, latency_records: int, rate: float
) -> dict[str, Any]:
    """Throughput and latency of the delivery service at one failure share."""
    names = TopicNames(f"bench-delivery-{uuid.uuid4().hex[:8]}.")
    await ensure_topics(bootstrap, names, partitions=4)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    result: dict[str, Any] = {"failure_share": failure_share}
    try:
        async with Partner(failure_share=failure_share, seed=7) as partner:
            url = f"{partner.url}/orders"
            await queue_deliveries(producer, names.http_deliveries, url, records, None)
            service = DeliveryService(
                DeliveryConfig(
                    bootstrap=bootstrap,
                    topic=names.http_deliveries,
                    dead_letters=names.dead_letters,
                    group=f"{names.prefix}deliveries",
                    policy=POLICY,
                    concurrency_per_endpoint=32,
                    breaker_failures=1000,
                )
            )
            stop = asyncio.Event()
            cpu, began = _cpu_seconds(), time.monotonic()
            running = asyncio.create_task(service.run(stop))
            await _until_delivered(partner, records, timeout=300)
            seconds = time.monotonic() - began
            cpu = _cpu_seconds() - cpu
            result["throughput"] = {
                "deliveries": records,
                "seconds": round(seconds, 2),
                "deliveries_per_second": round(records / seconds),
                "attempts_per_delivery": round(len(partner.received) / records, 2),
                "cpu_ms_per_delivery": round(cpu * 1000 / records, 3),
            }
            partner.received.clear()
            queued = await queue_deliveries(
                producer, names.http_deliveries, url, latency_records, rate
            )
            await _until_delivered(partner, latency_records, timeout=300)
            stop.set()
            await running
            delays = sorted(
                (request.at - queued[key]) * 1000 for key, request in partner.delivered().items()
            )
            result["latency"] = {
                "offered_rate": rate,
                "deliveries": len(delays),
                "p50_ms": round(statistics.median(delays), 1),
                "p99_ms": round(delays[int(0.99 * (len(delays) - 1))], 1),
            }
    finally:
        await producer.stop()
    return result


def render_delivery(results: list[dict[str, Any]]) -> str:
    """The figures as markdown."""
    lines = [
        "## Delivery service: a local endpoint failing a share of requests",
        "",
        "| failure share | deliveries/s | attempts per delivery "
        "| CPU ms per delivery (upper bound) | latency p50 / p99 ms at offered rate |",
        "|---:|---:|---:|---:|---|",
    ]
    for result in results:
        t, lat = result["throughput"], result["latency"]
        lines.append(
            f"| {result['failure_share']:.0%} | {t['deliveries_per_second']:,} | "
            f"{t['attempts_per_delivery']} | {t['cpu_ms_per_delivery']} | "
            f"{lat['p50_ms']} / {lat['p99_ms']} at {lat['offered_rate']:g}/s |"
        )
    return "\n".join(lines) + "\n"
