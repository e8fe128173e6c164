"""What Kafka and aiokafka allow without Faust: the ceilings our pipeline is compared with.

- **Producer throughput**: one aiokafka producer (acks=all, idempotent, the load
  generator's backlog linger) sending the benchmark's own messages as fast as it can.
- **Transactional ceiling**: one process running the plainest exactly-once loop over
  those messages: a read_committed consumer and one transactional producer; per fetched
  batch, decode each value's JSON, produce one output of the same size per input, add
  the batch's offsets to the transaction, commit. No tables, no dedup, no validation.
"""

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import NewTopic

from ecommerce_streams.harness.load import Outgoing
from ecommerce_streams.harness.load.sending import BACKLOG_LINGER_MS
from ecommerce_streams.kafka_admin import admin_client
from ecommerce_streams.topic_names import TopicNames


async def create_topics(bootstrap: str, names: Sequence[str], partitions: int) -> None:
    """Create the ceiling's own topics (single replica)."""
    async with admin_client(bootstrap) as admin:
        await admin.create_topics([NewTopic(name, partitions, 1) for name in names])


async def producer_throughput(
    bootstrap: str, names: TopicNames, messages: Sequence[Outgoing], passes: int
) -> dict[str, Any]:
    """Send ``passes`` copies of the messages flat out; messages/s and MB/s until all acked."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=BACKLOG_LINGER_MS,
    )
    await producer.start()
    sent = size = 0
    try:
        began = time.perf_counter()
        futures = []
        for _ in range(passes):
            for message in messages:
                topic = names.name(message.topic_role)
                futures.append(await producer.send(topic, message.value, key=message.key))
                sent += 1
                size += len(message.value or b"") + len(message.key)
        await asyncio.gather(*futures)
        seconds = time.perf_counter() - began
    finally:
        await producer.stop()
    return {
        "messages": sent,
        "megabytes": round(size / 1e6, 3),
        "mean_message_bytes": round(size / sent),
        "seconds": round(seconds, 3),
        "messages_per_second": round(sent / seconds),
        "megabytes_per_second": round(size / 1e6 / seconds, 2),
    }


def _transform(value: bytes | None) -> bytes:
    """Decode the input's JSON and write one output of about the same size."""
    try:
        document = orjson.loads(value or b"null")
    except orjson.JSONDecodeError:
        return orjson.dumps({"error": "not JSON", "size": len(value or b"")})
    if isinstance(document, dict):
        document["causation_id"] = document.get("event_id")
    return orjson.dumps(document)


async def transactional_ceiling(
    bootstrap: str, inputs: Sequence[str], output: str, expected: int, timeout: float = 300.0
) -> dict[str, Any]:
    """Consume ``expected`` messages in read-committed, transform, produce, commit per batch."""
    group = f"ceiling-{uuid.uuid4().hex[:8]}"
    consumer = AIOKafkaConsumer(
        *inputs,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        transactional_id=f"{group}-tx",
        linger_ms=BACKLOG_LINGER_MS,
    )
    await producer.start()
    await consumer.start()
    processed = transactions = 0
    began: float | None = None
    deadline = time.monotonic() + timeout
    try:
        while processed < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            if not batches:
                continue
            if began is None:
                began = time.perf_counter()
            offsets: dict[TopicPartition, int] = {}
            async with producer.transaction():
                for tp, records in batches.items():
                    for record in records:
                        await producer.send(output, _transform(record.value), key=record.key)
                    offsets[tp] = records[-1].offset + 1
                    processed += len(records)
                await producer.send_offsets_to_transaction(offsets, group)
            transactions += 1
        seconds = time.perf_counter() - (began or time.perf_counter())
    finally:
        await consumer.stop()
        await producer.stop()
    return {
        "messages": processed,
        "complete": processed >= expected,
        "transactions": transactions,
        "seconds": round(seconds, 3),
        "messages_per_second": round(processed / seconds) if seconds else None,
    }


async def measure_ceilings(
    bootstrap: str, messages: Sequence[Outgoing], *, partitions: int, passes: int
) -> dict[str, Any]:
    """Producer throughput into fresh topics, then the transactional loop over the same data."""
    prefix = f"ceiling-{uuid.uuid4().hex[:8]}."
    names = TopicNames(prefix=prefix)
    output = f"{prefix}out"
    await create_topics(bootstrap, [*names.sources(), output], partitions)
    producer = await producer_throughput(bootstrap, names, messages, passes)
    transactional = await transactional_ceiling(
        bootstrap, list(names.sources()), output, producer["messages"]
    )
    return {"producer": producer, "transactional": transactional}
