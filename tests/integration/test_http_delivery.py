"""The delivery service on the real broker, POSTing to a real local HTTP server that fails."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY

from ecommerce_streams.delivery.service import DeliveryConfig, DeliveryService
from ecommerce_streams.harness.verify.reading import TopicReader
from ecommerce_streams.operations.topic_setup import ensure_topics
from ecommerce_streams.topic_names import TopicNames
from models.dead_letter import DeadLetter
from models.delivery.retry_policy import RetryPolicy
from models.routing.router import (
    ENDPOINT_HEADER,
    EVENT_ID_HEADER,
    RETRY_POLICY_HEADER,
    ROUTE_HEADER,
)
from tests.web_client import eventually
from tests.web_events import unique

pytestmark = pytest.mark.integration

QUICK_RETRIES = RetryPolicy(
    maximum_retry_attempts=3, base_delay_seconds=0.05, max_delay_seconds=0.2
)


@dataclass
class Partner:
    """A partner's HTTP server: what it received, and how each path answers."""

    received: list[tuple[str, str, int]] = field(default_factory=list)
    seen_keys: set[tuple[str, str]] = field(default_factory=set)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        """``/ok`` 200; ``/flaky`` 503 then 200; ``/throttled`` 429 (Retry-After 1) then
        200; ``/gone`` 404; ``/down`` 500; ``/hang`` waits until released, then 200."""
        path = request.path
        key = request.headers.get("Idempotency-Key", "")
        attempt = int(request.headers.get("X-Delivery-Attempt", "0"))
        await request.read()
        self.received.append((path, key, attempt))
        first = (path, key) not in self.seen_keys
        self.seen_keys.add((path, key))
        if path == "/flaky" and first:
            return web.Response(status=503)
        if path == "/throttled" and first:
            return web.Response(status=429, headers={"Retry-After": "1"})
        if path == "/gone":
            return web.Response(status=404)
        if path == "/down":
            return web.Response(status=500)
        if path == "/hang":
            await self.release.wait()
        return web.Response(status=200)

    def answers(self, path: str) -> list[tuple[str, int]]:
        """The (idempotency key, attempt) of every request to ``path``."""
        return [(key, attempt) for p, key, attempt in self.received if p == path]


@pytest.fixture
async def partner() -> AsyncIterator[Partner]:
    """A real HTTP server on a free local port."""
    partner = Partner()
    app = web.Application()
    app.router.add_post("/{tail:.*}", partner.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    partner.url = f"http://127.0.0.1:{port}"
    yield partner
    partner.release.set()
    await runner.cleanup()


@pytest.fixture
async def names(broker: str) -> TopicNames:
    """An isolated deployment's topics."""
    topics = TopicNames(f"{unique('deliver')}.")
    await ensure_topics(broker, topics, partitions=2)
    return topics


async def queue(
    broker: str, names: TopicNames, endpoints: list[str], retry_policy: str | None = None
) -> list[str]:
    """One delivery record per endpoint on http-deliveries; their idempotency keys."""
    producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all")
    await producer.start()
    keys = []
    try:
        for n, endpoint in enumerate(endpoints):
            event_id, route = str(uuid.uuid4()), f"rule/partners/t{n}"
            headers = [
                (ENDPOINT_HEADER, endpoint.encode()),
                (ROUTE_HEADER, route.encode()),
                (EVENT_ID_HEADER, event_id.encode()),
            ]
            if retry_policy is not None:
                headers.append((RETRY_POLICY_HEADER, retry_policy.encode()))
            body = json.dumps({"n": n}).encode()
            await producer.send_and_wait(
                names.http_deliveries, body, key=f"ord-{n}".encode(), headers=headers
            )
            keys.append(f"{event_id}:{route}")
    finally:
        await producer.stop()
    return keys


def service(broker: str, names: TopicNames, group: str) -> DeliveryService:
    """A delivery service with quick retries and a quick breaker."""
    return DeliveryService(
        DeliveryConfig(
            bootstrap=broker,
            topic=names.http_deliveries,
            dead_letters=names.dead_letters,
            group=group,
            policy=QUICK_RETRIES,
            breaker_failures=3,
            breaker_cooldown_seconds=0.3,
        )
    )


async def dead_letters(broker: str, names: TopicNames, count: int) -> list[DeadLetter]:
    """The first ``count`` dead letters of the deployment."""
    async with TopicReader(broker, [names.dead_letters]) as reader:

        async def read() -> list[DeadLetter]:
            await reader.catch_up()
            records = reader.records[names.dead_letters]
            return [DeadLetter.model_validate_json(r.value or b"") for r in records]

        return await eventually(read, lambda letters: len(letters) >= count, timeout=60)


async def test_each_record_is_delivered_or_dead_lettered_with_its_last_answer(
    broker: str, names: TopicNames, partner: Partner
) -> None:
    paths = ["/ok", "/flaky", "/throttled", "/gone", "/down"]
    keys = await queue(broker, names, [partner.url + path for path in paths])
    stop = asyncio.Event()
    delivery = service(broker, names, unique("deliveries"))
    running = asyncio.create_task(delivery.run(stop))

    letters = await dead_letters(broker, names, 2)
    await eventually(  # the retried ones answered 2xx, nothing is under way
        lambda: asyncio.sleep(
            0, (len(partner.answers("/flaky")), len(partner.answers("/throttled")))
        ),
        lambda got: got == (2, 2) and not delivery.deliveries,
    )
    stop.set()
    await running

    assert partner.answers("/ok") == [(keys[0], 1)]
    assert partner.answers("/flaky") == [(keys[1], 1), (keys[1], 2)]
    assert partner.answers("/throttled") == [(keys[2], 1), (keys[2], 2)]
    assert partner.answers("/gone") == [(keys[3], 1)]  # a 404 is not retried
    assert len(partner.answers("/down")) == 1 + QUICK_RETRIES.maximum_retry_attempts
    assert sorted(letter.error for letter in letters) == [
        "HTTP 404 (after 1 attempt)",
        "HTTP 500 (after 4 attempts)",
    ]
    assert {(letter.stage, letter.attempts) for letter in letters} == {
        ("delivery", 1),
        ("delivery", 4),
    }
    endpoint = {"endpoint": partner.url}
    assert (
        REGISTRY.get_sample_value("es_deliveries_total", {**endpoint, "outcome": "delivered"}) >= 3
    )
    assert (
        REGISTRY.get_sample_value("es_deliveries_total", {**endpoint, "outcome": "dead-lettered"})
        >= 2
    )


async def test_a_targets_retry_policy_limits_its_retries_below_the_services(
    broker: str, names: TopicNames, partner: Partner
) -> None:
    limits = json.dumps({"MaximumRetryAttempts": 1, "MaximumEventAgeInSeconds": 60})
    [key] = await queue(broker, names, [partner.url + "/down"], retry_policy=limits)
    stop = asyncio.Event()
    running = asyncio.create_task(service(broker, names, unique("deliveries")).run(stop))

    [letter] = await dead_letters(broker, names, 1)
    stop.set()
    await running

    assert partner.answers("/down") == [(key, 1), (key, 2)]  # the service alone would try 4 times
    assert letter.error == "HTTP 500 (after 2 attempts)"


async def test_a_hanging_endpoint_holds_up_no_other_and_is_delivered_again_after_a_crash(
    broker: str, names: TopicNames, partner: Partner
) -> None:
    paths = ["/ok", "/ok", "/ok", "/hang"]  # the hanging one last in its partition
    keys = await queue(broker, names, [partner.url + path for path in paths])
    group = unique("deliveries")
    stop = asyncio.Event()
    dying = service(broker, names, group)
    first = asyncio.create_task(dying.run(stop))

    await eventually(  # every /ok finished while /hang still waits
        lambda: asyncio.sleep(0, (len(partner.answers("/ok")), len(dying.deliveries))),
        lambda got: got == (3, 1),
    )
    await dying.commit()
    first.cancel()  # the service dies with /hang unfinished
    await asyncio.gather(first, return_exceptions=True)

    partner.release.set()
    second = asyncio.create_task(service(broker, names, group).run(stop))
    await eventually(lambda: asyncio.sleep(0, partner.answers("/hang")), lambda got: len(got) == 2)
    stop.set()
    await second

    assert partner.answers("/hang") == [(keys[3], 1), (keys[3], 1)]  # same key, again
    assert sorted(partner.answers("/ok")) == sorted((key, 1) for key in keys[:3])  # once each
