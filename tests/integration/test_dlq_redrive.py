"""A dead letter redriven with its cause fixed takes effect once, however often it is redriven."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from ecommerce_streams.harness.deployment import Deployment
from ecommerce_streams.harness.verify.reading import TopicReader
from ecommerce_streams.operations.dead_letter_queue import read_queue
from models.envelope import Envelope, Source, encode_event
from models.events import OrderLine, OrderPlaced, Payload, PaymentAuthorized, StockReceived
from tests.integration.operator import poll_view, processed_everything, run_cli, view

pytestmark = pytest.mark.integration

SKU = "SKU-DLQ-1"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def placed(order_id: str, event_id: uuid.UUID) -> Envelope:
    """A valid OrderPlaced of two units at 9.50."""
    order = OrderPlaced(
        order_id=order_id,
        customer_id="cust-1",
        lines=(OrderLine(sku=SKU, qty=2, unit_price=Decimal("9.50")),),
        currency="EUR",
        total=Decimal("19.00"),
        shipping_address="1 Main Street, Springfield",
    )
    return Envelope.of(order, event_id=event_id, source="web", occurred_at=NOW)


def event_bytes(payload: Payload, source: Source) -> bytes:
    """A valid event around the payload, with a fresh event id."""
    return encode_event(Envelope.of(payload, event_id=uuid.uuid4(), source=source, occurred_at=NOW))


def with_wrong_total(envelope: Envelope) -> bytes:
    """The envelope's JSON with a total that is not the sum of its lines."""
    document = envelope.model_dump(mode="json")
    document["data"]["total"] = "20.00"
    return orjson.dumps(document)


async def produce(bootstrap: str, messages: list[tuple[str, str, bytes]]) -> None:
    """Send (topic, key, value) messages in order, acks=all."""
    async with AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all") as producer:
        for topic, key, value in messages:
            await producer.send_and_wait(topic, value, key=key.encode())


async def derived_for(deployment: Deployment, order_id: str) -> dict[str, int]:
    """How many derived events of each type mention the order (read_committed)."""
    topics = deployment.topics
    watched = [topics.inventory_commands, topics.order_events, topics.shipments]
    async with TopicReader(deployment.bootstrap, watched) as reader:
        await reader.catch_up()
    counts: dict[str, int] = {}
    for records in reader.records.values():
        for record in records:
            document = orjson.loads(record.value or b"{}")
            if document.get("correlation_id") == order_id:
                counts[document["event_type"]] = counts.get(document["event_type"], 0) + 1
    return counts


async def test_redriving_a_fixed_dead_letter_takes_effect_once_even_when_redriven_again(
    deployment: Deployment, tmp_path: Path
) -> None:
    [worker] = await deployment.start_workers(1)
    topics, env = deployment.topics, deployment.env()
    order_id, event_id = f"ord-{uuid.uuid4().hex[:8]}", uuid.uuid4()
    order = placed(order_id, event_id)
    payment = PaymentAuthorized(
        order_id=order_id, payment_id="pay-1", amount=Decimal("19.00"), currency="EUR"
    )
    await produce(
        deployment.bootstrap,
        [
            (topics.inventory, SKU, event_bytes(StockReceived(sku=SKU, qty=10), "warehouse")),
            (topics.payments, order_id, event_bytes(payment, "payments-gateway")),
            (topics.orders, order_id, with_wrong_total(order)),
        ],
    )
    await processed_everything(deployment)
    [letter] = [
        q
        for q in await read_queue(deployment.bootstrap, topics)
        if q.letter.original_key() == order_id.encode()
    ]
    waiting = await view(f"{worker.url}/orders/{order_id}")
    listed = await run_cli(env, "dlq", "list")
    shown = await run_cli(env, "dlq", "show", letter.id)
    fix = tmp_path / "fixed.json"
    fix.write_bytes(encode_event(order))

    first = await run_cli(env, "dlq", "redrive", "--offset", letter.id, "--fix-with", str(fix))
    await processed_everything(deployment)
    confirmed = await poll_view(
        f"{worker.url}/orders/{order_id}", lambda status, body: body.get("status") == "confirmed"
    )
    twice = await run_cli(env, "dlq", "redrive", "--offset", letter.id, "--fix-with", str(fix))
    everything = await run_cli(env, "dlq", "redrive", "--all")
    again = await run_cli(
        env, "dlq", "redrive", "--offset", letter.id, "--fix-with", str(fix), "--again"
    )
    await processed_everything(deployment)
    stock_level = await view(f"{worker.url}/inventory/{SKU}")

    assert "total" in letter.letter.error
    assert waiting == (200, waiting[1]) and waiting[1]["status"] == "awaiting_order"
    assert letter.id in listed[1] and "orders" in listed[1]
    assert '"total": "20.00"' in shown[1] and str(event_id) in shown[1]
    assert first[0] == 0 and f"redriven {letter.id} -> {topics.orders}" in first[1], first[1]
    assert confirmed[1]["payment"]["payment_id"] == "pay-1"
    assert twice[0] != 0 and "already redriven" in twice[1]
    assert everything[0] == 0 and letter.id not in everything[1], everything[1]
    assert again[0] == 0 and f"redriven {letter.id}" in again[1], again[1]
    assert (await view(f"{worker.url}/orders/{order_id}"))[1] == confirmed[1]
    assert await derived_for(deployment, order_id) == {
        "ReserveStock": 1,
        "CommitStock": 1,
        "OrderConfirmed": 1,
        "ShipmentRequested": 1,
    }
    assert stock_level[1]["on_hand"] == 8 and stock_level[1]["reserved"] == 0
    redriven = [q for q in await read_queue(deployment.bootstrap, topics) if q.id == letter.id]
    assert redriven[0].redrive is not None and redriven[0].redrive.fixed
