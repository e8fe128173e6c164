"""Sending load: every message to its resolved topic, paced when asked, all deliveries awaited."""

import asyncio
from typing import Any

import pytest

from ecommerce_streams.harness.load import LoadProfile, LoadSummary, generate, send_load
from ecommerce_streams.harness.load import sending as sending_module
from ecommerce_streams.harness.load.rate_limit import TokenBucket
from ecommerce_streams.topic_names import TopicNames

PROFILE = LoadProfile(orders=60, seed=5, skus=20)


class FakeProducer:
    """Records what an AIOKafkaProducer was asked to do; deliveries settle on the next tick."""

    instances: list["FakeProducer"] = []
    fail_on: int | None = None

    def __init__(self, **config: Any) -> None:
        self.config = config
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.acknowledged = 0
        self.started = self.stopped = False
        FakeProducer.instances.append(self)

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def flush(self) -> None:
        await asyncio.sleep(0)

    async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future[None]:
        self.sent.append((topic, key, value))
        delivery: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        failing = FakeProducer.fail_on is not None and len(self.sent) == FakeProducer.fail_on
        asyncio.get_running_loop().call_soon(self._settle, delivery, failing)
        return delivery

    def _settle(self, delivery: asyncio.Future[None], failing: bool) -> None:
        if failing:
            delivery.set_exception(RuntimeError("broker said no"))
        else:
            self.acknowledged += 1
            delivery.set_result(None)


@pytest.fixture
def producer(monkeypatch: pytest.MonkeyPatch) -> type[FakeProducer]:
    """Replace the Kafka producer with the fake for one test."""
    FakeProducer.instances = []
    FakeProducer.fail_on = None
    monkeypatch.setattr(sending_module, "AIOKafkaProducer", FakeProducer)
    return FakeProducer


async def test_every_message_goes_to_its_prefixed_topic_with_its_key(
    producer: type[FakeProducer],
) -> None:
    names = TopicNames(prefix="run7-")
    summary = await send_load("broker:9092", names, PROFILE)
    (fake,) = producer.instances
    expected = [(names.name(m.topic_role), m.key, m.value) for m in generate(PROFILE)]
    assert fake.sent == expected
    assert summary == LoadSummary.of(generate(PROFILE))


async def test_producer_is_idempotent_waits_for_all_replicas_and_is_stopped(
    producer: type[FakeProducer],
) -> None:
    await send_load("broker:9092", TopicNames(), PROFILE)
    (fake,) = producer.instances
    assert fake.config == {
        "bootstrap_servers": "broker:9092",
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
    }
    assert fake.stopped


async def test_paced_messages_wait_for_no_batch(producer: type[FakeProducer]) -> None:
    await send_load("broker:9092", TopicNames(), PROFILE, rate=10_000.0)
    (fake,) = producer.instances
    assert fake.config["linger_ms"] == 0


async def test_every_delivery_is_acknowledged_before_returning(
    producer: type[FakeProducer],
) -> None:
    summary = await send_load("broker:9092", TopicNames(), PROFILE, progress=True)
    (fake,) = producer.instances
    assert fake.acknowledged == summary.messages == len(fake.sent)


async def test_a_failed_delivery_is_raised_and_the_producer_stopped(
    producer: type[FakeProducer],
) -> None:
    producer.fail_on = 3
    with pytest.raises(RuntimeError, match="broker said no"):
        await send_load("broker:9092", TopicNames(), PROFILE)
    assert producer.instances[0].stopped


async def test_rate_limits_messages_per_second(producer: type[FakeProducer]) -> None:
    profile = LoadProfile(orders=0, skus=40, max_lines=1, duplicate_ratio=0.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await send_load("broker:9092", TopicNames(), profile, rate=200.0)
    # 40 messages at 200/s: the first burst (10) is free, the other 30 take 0.15 s.
    assert loop.time() - started >= 0.14


async def test_token_bucket_allows_a_burst_then_paces() -> None:
    bucket = TokenBucket(1_000.0, burst=5)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(5):
        await bucket.take()
    assert loop.time() - started < 0.02
    for _ in range(50):
        await bucket.take()
    assert loop.time() - started >= 0.045


def test_token_bucket_refuses_a_rate_that_is_not_positive() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0)
