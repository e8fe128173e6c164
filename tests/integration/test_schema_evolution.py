"""Schema version 2 beside version 1: old and new producers and workers on the same topics.

``OrderPlaced`` gained an optional ``gift_note`` in schema version 2. A worker running the
code of release 1 (schema version 1, kept as ``tests/releases/schemas-release-1.tar.gz``)
and a worker running this tree share one deployment's partitions, while version 1
producers (no ``gift_note``, ``schema_version`` 1) and version 2 producers (with it) send
orders and payments: every order is decided the same way, whichever worker and version,
and nothing is dead-lettered.
"""

import tarfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from ecommerce_streams.harness.deployment import Deployment
from ecommerce_streams.harness.verify.reading import TopicReader
from ecommerce_streams.operations.topic_setup import ensure_topics
from ecommerce_streams.partitioning import partition_of
from models.envelope import SCHEMA_VERSION, Envelope, encode_event
from models.events import OrderLine, OrderPlaced, PaymentAuthorized, StockReceived
from tests.integration.test_worker_round_trip import wait_for_status
from tests.web_client import eventually, get_json

pytestmark = pytest.mark.integration

ORDERS = 16
RELEASE_1 = Path(__file__).resolve().parents[1] / "releases" / "schemas-release-1.tar.gz"


@pytest.fixture(scope="module")
def release_1_code(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The Python packages of release 1 (schema version 1), unpacked from the kept archive.

    The archive is ``git archive --format=tar.gz schemas-release-1 ecommerce_streams models
    agents tables``: kept in the tree, since a clone need not carry the tag or its history.
    """
    target = tmp_path_factory.mktemp("release-1")
    with tarfile.open(RELEASE_1) as tree:
        tree.extractall(target, filter="data")
    yield target


def version_1_wire(event: Envelope) -> bytes:
    """The event as a release 1 producer writes it: schema version 1, no ``gift_note``."""
    document: dict[str, Any] = orjson.loads(encode_event(event))
    document["schema_version"] = 1
    document["data"].pop("gift_note", None)
    return orjson.dumps(document)


def envelope(payload: Any, source: str) -> Envelope:
    """``payload`` wrapped now, with a fresh id, as this tree writes it."""
    return Envelope.of(payload, event_id=uuid.uuid4(), source=source, occurred_at=datetime.now(UTC))


async def owned(worker_url: str) -> set[int]:
    """The partitions of the orders topic a worker owns."""
    _, _, state = await get_json(f"{worker_url}/ready")
    return {p for topic, ps in state["partitions"].items() if topic.endswith(".orders") for p in ps}


async def test_version_1_and_2_producers_and_workers_side_by_side_decide_alike(
    broker: str, tmp_path: Path, release_1_code: Path
) -> None:
    assert SCHEMA_VERSION == 2
    deployment = Deployment(bootstrap=broker, workdir=tmp_path / "shop")
    await ensure_topics(broker, deployment.topics, partitions=deployment.partitions)
    old, new = deployment.add_worker(), deployment.add_worker()
    old.code = release_1_code
    names = deployment.topics
    producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all")
    try:
        old.start()
        new.start()
        await deployment.wait_ready()
        await eventually(
            lambda: get_json(f"{old.url}/ready"),
            lambda answer: answer[0] == 200 and answer[2]["changelogs_in_metadata"],
        )
        await producer.start()
        stock = envelope(StockReceived(sku="FR-MUG-RED", qty=1000), "warehouse")
        await producer.send_and_wait(names.inventory, version_1_wire(stock), key=b"FR-MUG-RED")
        order_ids = [f"ord-{uuid.uuid4().hex[:8]}" for _ in range(ORDERS)]
        for n, order_id in enumerate(order_ids):
            placed = envelope(
                OrderPlaced(
                    order_id=order_id,
                    customer_id="cust-1",
                    lines=(OrderLine(sku="FR-MUG-RED", qty=2, unit_price=Decimal("9.50")),),
                    currency="EUR",
                    total=Decimal("19.00"),
                    shipping_address="1 Harbour Road, Cork",
                    gift_note="Happy birthday!" if n % 2 else None,
                ),
                "web",
            )
            paid = envelope(
                PaymentAuthorized(
                    order_id=order_id,
                    payment_id=f"pay-{n}",
                    amount=Decimal("19.00"),
                    currency="EUR",
                ),
                "payments-gateway",
            )
            # even orders come from a release 1 producer, odd ones from a release 2 producer;
            # their payments from the other kind
            placed_bytes = encode_event(placed) if n % 2 else version_1_wire(placed)
            paid_bytes = version_1_wire(paid) if n % 2 else encode_event(paid)
            await producer.send_and_wait(names.orders, placed_bytes, key=order_id.encode())
            await producer.send_and_wait(names.payments, paid_bytes, key=order_id.encode())
        decided = [
            await wait_for_status(f"{new.url}/orders/{order_id}", "confirmed")
            for order_id in order_ids
        ]
        old_partitions, new_partitions = await owned(old.url), await owned(new.url)
        assert old.running and new.running
    finally:
        await producer.stop()
        deployment.stop()
    async with TopicReader(broker, [names.dead_letters]) as reader:
        await reader.catch_up()
        letters = reader.records[names.dead_letters]

    assert [answer["status"] for answer in decided] == ["confirmed"] * ORDERS
    assert letters == []  # nothing valid under either version was refused
    orders_on = {partition_of(order_id.encode(), deployment.partitions) for order_id in order_ids}
    assert orders_on & old_partitions and orders_on & new_partitions  # both decided some
