"""Framed events (Confluent's wire format) from confluent-kafka's JSONSerializer, on real parts.

A worker of an isolated deployment, the run's broker and schema registry: events framed by
Confluent's own serializer and plain JSON events drive the same order to the same outcome;
framed values with an unknown id, or whose JSON does not match the schema their id names,
are dead-lettered (stage ``schema``) with the reason; ``POST /events`` takes a framed body.
"""

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from ecommerce_streams.harness.registry import EmbeddedRegistry
from ecommerce_streams.harness.verify.reading import TopicReader
from ecommerce_streams.partitioning import partition_of
from ecommerce_streams.schemas.evolution import by_subject, current_schemas, register
from ecommerce_streams.schemas.registry_client import RegistryClient
from ecommerce_streams.topic_names import TopicNames
from models.dead_letter import DeadLetter
from models.envelope import Envelope, encode_event
from models.events import OrderLine, OrderPlaced, PaymentAuthorized, StockReceived
from models.schemas.framing import frame
from models.schemas.json_schema import canonical
from tests.integration.test_worker_round_trip import produce, wait_for_status
from tests.web_client import eventually
from tests.web_deployment import running

pytestmark = pytest.mark.integration


def envelope(payload: Any, source: str) -> Envelope:
    """``payload`` wrapped now, with a fresh id."""
    return Envelope.of(payload, event_id=uuid.uuid4(), source=source, occurred_at=datetime.now(UTC))


def confluent_produce(
    bootstrap: str, registry_url: str, topic: str, events: list[Envelope]
) -> None:
    """Send ``events`` framed by Confluent's JSONSerializer, each under its subject's latest id."""
    client = SchemaRegistryClient({"url": registry_url})
    # librdkafka's default partitioner is not Kafka's: murmur2 puts keys where Java would
    producer = Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "partitioner": "murmur2_random"}
    )
    for event in events:
        serializer = JSONSerializer(
            canonical(current_schemas()[event.event_type]),
            client,
            conf={
                "auto.register.schemas": False,
                "use.latest.version": True,
                "subject.name.strategy": lambda ctx, _name, t=event.event_type: f"{ctx.topic}-{t}",
            },
        )
        value = serializer(
            orjson.loads(encode_event(event)), SerializationContext(topic, MessageField.VALUE)
        )
        producer.produce(topic, key=event.data.key.encode(), value=value)
    assert producer.flush(30) == 0


async def produce_to(bootstrap: str, topic: str, partition: int, key: bytes, value: bytes) -> None:
    """Send one message to a chosen partition, whatever its key."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, partition=partition)
    finally:
        await producer.stop()


async def intake_letters(bootstrap: str, names: TopicNames, count: int) -> list[DeadLetter]:
    """The dead letters of stages ``schema`` and ``intake``, once there are ``count``."""
    async with TopicReader(bootstrap, [names.dead_letters]) as reader:

        async def read() -> list[DeadLetter]:
            await reader.catch_up()
            letters = [
                DeadLetter.model_validate_json(r.value or b"")
                for r in reader.records[names.dead_letters]
            ]
            return [letter for letter in letters if letter.stage in ("schema", "intake")]

        return await eventually(read, lambda found: len(found) >= count, timeout=90)


async def test_framed_and_plain_events_drive_one_order_and_bad_framing_is_dead_lettered(
    broker: str, registry: EmbeddedRegistry, tmp_path: Path
) -> None:
    env = {"ES_SCHEMA_REGISTRY_URL": registry.ccompat_url}
    async with running(broker, tmp_path / "shop", workers=1, env=env) as (deployment, [worker]):
        names = deployment.topics
        async with RegistryClient(registry.ccompat_url) as client:
            ids = await register(client, by_subject(current_schemas(), names.name), "BACKWARD", {})
        order_id, sku = f"ord-{uuid.uuid4().hex[:8]}", "FR-MUG-RED"
        stock = envelope(StockReceived(sku=sku, qty=5), "warehouse")
        placed = envelope(
            OrderPlaced(
                order_id=order_id,
                customer_id="cust-9",
                lines=(OrderLine(sku=sku, qty=2, unit_price=Decimal("9.50")),),
                currency="EUR",
                total=Decimal("19.00"),
                shipping_address="1 Harbour Road, Cork",
            ),
            "web",
        )
        paid = envelope(
            PaymentAuthorized(
                order_id=order_id, payment_id="pay-9", amount=Decimal("19.00"), currency="EUR"
            ),
            "payments-gateway",
        )
        await asyncio.to_thread(
            confluent_produce, broker, registry.ccompat_url, names.inventory, [stock]
        )
        await asyncio.to_thread(
            confluent_produce, broker, registry.ccompat_url, names.orders, [placed]
        )
        await produce(broker, names.payments, order_id, encode_event(paid))  # plain JSON
        confirmed = await wait_for_status(f"{worker.url}/orders/{order_id}", "confirmed")

        unknown = frame(2**31 - 7, encode_event(envelope(StockReceived(sku=sku, qty=1), "web")))
        await produce(broker, names.inventory, sku, unknown)
        placed_id = ids[f"{names.orders}-OrderPlaced"]
        other = envelope(
            PaymentAuthorized(
                order_id="ord-x", payment_id="pay-x", amount=Decimal("1.00"), currency="EUR"
            ),
            "payments-gateway",
        )
        await produce(broker, names.payments, "ord-x", frame(placed_id, encode_event(other)))
        wrong = (partition_of(b"ord-y", deployment.partitions) + 1) % deployment.partitions
        late = envelope(
            PaymentAuthorized(
                order_id="ord-y", payment_id="pay-y", amount=Decimal("1.00"), currency="EUR"
            ),
            "payments-gateway",
        )
        await produce_to(broker, names.payments, wrong, b"ord-y", encode_event(late))
        letters = await intake_letters(broker, names, 3)

        framed_body = {"Content-Type": "application/octet-stream"}
        body = frame(placed_id, encode_event(envelope(placed.data, "web")))
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{worker.url}/events", data=body, headers=framed_body) as r:
                ingested = r.status
            async with session.post(f"{worker.url}/events", data=unknown, headers=framed_body) as r:
                refused = (r.status, (await r.json(content_type=None))["detail"])

    assert confirmed["status"] == "confirmed"
    by_stage = {(letter.stage, letter.error.split(":")[0]): letter for letter in letters}
    assert set(by_stage) == {
        ("schema", f"does not match schema id {placed_id}"),
        ("schema", f"unknown schema id {2**31 - 7}"),
        (
            "intake",
            "key 'ord-y' belongs in partition "
            f"{partition_of(b'ord-y', deployment.partitions)} of {names.payments} (Kafka's murmur2 "
            f"partitioner), not {wrong}",
        ),
    }
    framed_letters = [letter for letter in letters if letter.stage == "schema"]
    assert {letter.original()[:1] for letter in framed_letters} == {b"\x00"}  # kept as sent
    assert ingested == 202
    assert refused[0] == 400 and refused[1].startswith(f"unknown schema id {2**31 - 7}")
