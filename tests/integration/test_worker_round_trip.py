"""A real worker process consumes an order from the real broker; we watch from outside."""

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import aiohttp
import pytest
from aiokafka import AIOKafkaProducer

from ecommerce_streams.harness.deployment import Deployment
from models.envelope import Envelope, encode_event
from models.events import OrderLine, OrderPlaced, StockReceived

pytestmark = pytest.mark.integration


def an_order(order_id: str) -> Envelope:
    """A valid OrderPlaced with one line."""
    placed = OrderPlaced(
        order_id=order_id,
        customer_id="cust-1",
        lines=(OrderLine(sku="sku-1", qty=2, unit_price=Decimal("9.50")),),
        currency="EUR",
        total=Decimal("19.00"),
        shipping_address="1 Main Street, Springfield",
    )
    return Envelope.of(placed, event_id=uuid.uuid4(), source="web", occurred_at=datetime.now(UTC))


async def produce(bootstrap: str, topic: str, key: str, value: bytes) -> None:
    """Send one message with acks=all."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key.encode())
    finally:
        await producer.stop()


async def wait_for_stock(url: str, attempts: int = 240) -> None:
    """Poll the stock view until the sku has units on hand."""
    async with aiohttp.ClientSession() as session:
        for _ in range(attempts):
            async with session.get(url) as response:
                if response.status == 200 and (await response.json())["on_hand"] > 0:
                    return
            await asyncio.sleep(0.25)
    raise AssertionError(f"{url} never showed stock on hand")


async def wait_for_status(url: str, wanted: str, attempts: int = 240) -> dict:
    """Poll a view until it reports the wanted status (the worker offers no push signal)."""
    last: dict = {}
    async with aiohttp.ClientSession() as session:
        for _ in range(attempts):
            async with session.get(url) as response:
                if response.status == 200:
                    last = await response.json()
                    if last.get("status") == wanted:
                        return last
            await asyncio.sleep(0.25)
    raise AssertionError(f"{url} never reported {wanted!r}; last answer {last}")


async def test_worker_stores_a_placed_order_as_pending(deployment: Deployment) -> None:
    [worker] = await deployment.start_workers(1)
    order = an_order(f"ord-{uuid.uuid4().hex[:8]}")
    # Stock first: an order for a sku without any is rejected within a commit or two,
    # while one whose stock is reserved stays pending until it is paid.
    stock = Envelope.of(
        StockReceived(sku="sku-1", qty=10),
        event_id=uuid.uuid4(),
        source="warehouse",
        occurred_at=datetime.now(UTC),
    )
    await produce(deployment.bootstrap, deployment.topics.inventory, "sku-1", encode_event(stock))
    await wait_for_stock(f"{worker.url}/inventory/sku-1")

    await produce(
        deployment.bootstrap, deployment.topics.orders, order.data.order_id, encode_event(order)
    )

    state = await wait_for_status(f"{worker.url}/orders/{order.data.order_id}", "pending")
    assert state["order_id"] == order.data.order_id
    assert worker.running
