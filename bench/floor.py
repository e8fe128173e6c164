"""What the Kafka client alone costs for the saga's traffic: the floor under a worker's CPU.

A worker's CPU per source event is the sum of what the domain code, Faust and the Kafka
client cost. This measures the last one on its own: one process, no Faust, no tables, no
codecs, running the saga's *shape* of exactly-once traffic with aiokafka, as a worker
would if every layer above the client cost nothing:

- per source event, ``inputs`` records consumed read_committed (the saga's agent inputs:
  source events plus the internal hops);
- per source event, ``records`` records produced (derived events and changelog records);
- a transaction with the consumed offsets every ``events_per_commit`` source events;
- either one transactional producer per input partition (what Faust runs, our commit
  path commits them concurrently) or one per process (what fencing by consumer group
  generation, KIP-447, would allow).

The CPU seconds of this process over the records consumed and produced, scaled to one
source event, is the floor: no design on this client gets a worker below it.
"""

import asyncio
import os
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.ceiling import create_topics

#: Size of a record, about the mean of the benchmark's messages.
RECORD_BYTES = 390


@dataclass(frozen=True)
class Shape:
    """The saga's traffic per source event, as the benchmark measured it."""

    #: Records consumed per source event (agent inputs / source messages).
    inputs: float = 4.5
    #: Records written per source event (outputs and changelogs).
    records: float = 9.7
    #: Source events per transaction commit.
    events_per_commit: float = 16.0
    #: Partitions of the input and output topics.
    partitions: int = 4
    #: Source events to run.
    events: int = 3000


async def _fill(bootstrap: str, topic: str, count: int, partitions: int) -> None:
    """Write ``count`` input records, spread over the partitions."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        value = os.urandom(RECORD_BYTES)
        sends = [
            await producer.send(topic, value, partition=number % partitions)
            for number in range(count)
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


async def _producers(bootstrap: str, prefix: str, count: int) -> list[AIOKafkaProducer]:
    """``count`` started transactional producers, each in a transaction."""
    producers = [
        AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            linger_ms=20,
            transactional_id=f"{prefix}-{number}",
        )
        for number in range(count)
    ]
    for producer in producers:
        await producer.start()
        await producer.begin_transaction()
    return producers


async def run_floor(
    bootstrap: str, shape: Shape, *, producer_per_partition: bool
) -> dict[str, Any]:
    """Run the shape's traffic once; CPU ms per source event of this process."""
    prefix = f"floor-{uuid.uuid4().hex[:8]}"
    source, output = f"{prefix}.in", f"{prefix}.out"
    await create_topics(bootstrap, [source, output], shape.partitions)
    inputs = round(shape.events * shape.inputs)
    await _fill(bootstrap, source, inputs, shape.partitions)
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=prefix,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    producers = await _producers(
        bootstrap, prefix, shape.partitions if producer_per_partition else 1
    )
    per_input = shape.records / shape.inputs
    commit_every = max(1, round(shape.events_per_commit * shape.inputs))
    value = os.urandom(RECORD_BYTES)
    consumed = produced = transactions = 0
    owed = 0.0
    pending: dict[TopicPartition, int] = {}
    cpu_began = wall_began = None
    try:
        while consumed < inputs:
            batches = await consumer.getmany(timeout_ms=200)
            if cpu_began is None and batches:
                cpu_began, wall_began = time.process_time(), time.perf_counter()
            for tp, records in batches.items():
                producer = producers[tp.partition % len(producers)]
                for record in records:
                    owed += per_input
                    while owed >= 1:
                        await producer.send(output, value, key=record.key)
                        owed -= 1
                        produced += 1
                    consumed += 1
                    pending[tp] = record.offset + 1
                    if consumed % commit_every == 0:
                        transactions += await _commit(producers, pending, prefix)
            if consumed >= inputs and pending:
                transactions += await _commit(producers, pending, prefix)
        cpu = time.process_time() - (cpu_began or 0.0)
        wall = time.perf_counter() - (wall_began or 0.0)
    finally:
        await consumer.stop()
        for producer in producers:
            await producer.stop()
    events = consumed / shape.inputs
    return {
        "producers": len(producers),
        "consumed": consumed,
        "produced": produced,
        "transactions": transactions,
        "cpu_seconds": round(cpu, 3),
        "wall_seconds": round(wall, 3),
        "cpu_ms_per_source_event": round(1000 * cpu / events, 3),
        "source_events_per_second_one_core": round(events / cpu) if cpu else None,
    }


async def _commit(
    producers: list[AIOKafkaProducer], pending: dict[TopicPartition, int], group: str
) -> int:
    """Commit every producer's transaction (with its partitions' offsets) concurrently."""
    by_producer: dict[int, dict[TopicPartition, int]] = {}
    for tp, offset in pending.items():
        by_producer.setdefault(tp.partition % len(producers), {})[tp] = offset
    pending.clear()

    async def commit(number: int, producer: AIOKafkaProducer) -> None:
        offsets = by_producer.get(number)
        if offsets:
            await producer.send_offsets_to_transaction(offsets, group)
        await producer.commit_transaction()
        await producer.begin_transaction()

    await asyncio.gather(*(commit(n, p) for n, p in enumerate(producers)))
    return len(producers)


async def measure_floor(bootstrap: str, shape: Shape, repeat: int = 3) -> dict[str, Any]:
    """Per-partition producers and one producer, interleaved ``repeat`` times each."""
    runs: dict[str, list[dict[str, Any]]] = {"per_partition": [], "one_producer": []}
    for _ in range(repeat):
        runs["per_partition"].append(await run_floor(bootstrap, shape, producer_per_partition=True))
        runs["one_producer"].append(await run_floor(bootstrap, shape, producer_per_partition=False))
    medians = {
        label: sorted(run["cpu_ms_per_source_event"] for run in results)[len(results) // 2]
        for label, results in runs.items()
    }
    return {"shape": asdict(shape), "runs": runs, "median_cpu_ms_per_source_event": medians}


def render_floor(result: dict[str, Any]) -> str:
    """The floor as a markdown table."""
    shape = result["shape"]
    lines = [
        "## Kafka client floor (aiokafka alone, the saga's traffic shape)",
        "",
        f"Per source event: {shape['inputs']} records consumed read_committed, "
        f"{shape['records']} records produced, a transaction every "
        f"{shape['events_per_commit']} source events; {shape['partitions']} partitions, "
        f"{shape['events']:,} source events per run. No Faust, no tables, no codecs.",
        "",
        "| transactional producers | CPU ms / source event (median) | per run | "
        "source events/s on one core |",
        "|---|---:|---|---:|",
    ]
    for label, runs in result["runs"].items():
        median = result["median_cpu_ms_per_source_event"][label]
        each = ", ".join(f"{run['cpu_ms_per_source_event']:.2f}" for run in runs)
        rate = round(1 / median * 1000) if median else None
        lines.append(
            f"| {label.replace('_', ' ')} ({runs[0]['producers']}) | {median:.2f} | {each} | "
            f"{rate:,} |"
        )
    return "\n".join(lines) + "\n"
