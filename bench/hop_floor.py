"""How fast one transactional hop can be on this broker with aiokafka alone: the latency floor.

A worker's one-hop latency (an input record until the first record it caused is visible
to a read_committed consumer) is the wait for the commit round in progress, the
processing, and a commit round of its own. This measures the same hop with no Faust, no
tables and no codecs: records offered at a fixed rate to one process that consumes them
read_committed, writes ``outputs`` records per input in a transaction, and commits as
soon as its fetch drained (offsets in the transaction), as the worker's commit-on-drain
does; a read_committed tail times each input's first output. Three ways of committing:

- **per partition**: one transactional producer per input partition, committed at once
  (what the worker runs);
- **one producer**: one transactional producer for the process (what fencing by consumer
  group generation, KIP-447, would allow);
- **no transactions**: outputs acknowledged, then offsets committed (at-least-once): what
  the hop costs without a commit round.

No design on this client and broker gets a worker's hop below the floor of its variant.
"""

import asyncio
import contextlib
import os
import struct
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.ceiling import create_topics
from bench.latency import percentile

#: Bytes of an output record, about the mean of the benchmark's messages.
RECORD_BYTES = 390
#: The tail's and the hop's longest fetch wait, as the bench tail's and the worker's.
FETCH_MAX_WAIT_MS = 100
VARIANTS = ("per_partition", "one_producer", "no_transactions")


@dataclass(frozen=True)
class HopShape:
    """The hop's traffic."""

    #: Input records offered per second.
    rate: float = 50.0
    #: Seconds the inputs are offered for.
    seconds: float = 20.0
    #: Records written per input (a derived event and its changelog records).
    outputs: int = 2
    #: Partitions of the input and output topics.
    partitions: int = 4


async def _offer(bootstrap: str, topic: str, shape: HopShape) -> int:
    """Send inputs at the shape's rate, each carrying its send time; how many were sent."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    sent = 0
    try:
        began = time.perf_counter()
        total = round(shape.rate * shape.seconds)
        while sent < total:
            due = began + sent / shape.rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            value = struct.pack(">d", time.time()) + os.urandom(RECORD_BYTES - 8)
            await producer.send(topic, value, partition=sent % shape.partitions)
            sent += 1
        await producer.flush()
    finally:
        await producer.stop()
    return sent


class _Tail:
    """A read_committed consumer of the outputs, noting each input's first output."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.first_seen: dict[bytes, float] = {}
        #: How many inputs will have been sent, once known; set when all were seen.
        self.expected: int | None = None
        self.all_seen = asyncio.Event()
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )

    async def run(self) -> None:
        await self._consumer.start()
        try:
            while True:
                batches = await self._consumer.getmany(timeout_ms=100)
                now = time.time()
                for records in batches.values():
                    for record in records:
                        self.first_seen.setdefault(record.value[:8], now)
                if self.expected is not None and len(self.first_seen) >= self.expected:
                    self.all_seen.set()
        finally:
            await self._consumer.stop()


async def _hop(
    bootstrap: str,
    topics: tuple[str, str],
    group: str,
    variant: str,
    shape: HopShape,
    rounds: list[float],
) -> None:
    """Consume, write outputs and commit on drain until cancelled, noting each round's seconds."""
    source, output = topics
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
    )
    count = {"per_partition": shape.partitions, "one_producer": 1, "no_transactions": 1}[variant]
    producers = [
        AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            retry_backoff_ms=5,  # as the worker's: markers in flight refuse the next request
            transactional_id=None if variant == "no_transactions" else f"{group}-{number}",
        )
        for number in range(count)
    ]
    await consumer.start()
    for producer in producers:
        await producer.start()
        if variant != "no_transactions":
            await producer.begin_transaction()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=100)
            if not batches:
                continue
            offsets: dict[int, dict[TopicPartition, int]] = {}
            sends = []
            for tp, records in batches.items():
                number = tp.partition % count
                for record in records:
                    for _ in range(shape.outputs):
                        sends.append(await producers[number].send(output, record.value))
                offsets.setdefault(number, {})[tp] = records[-1].offset + 1
            began = time.perf_counter()
            await asyncio.gather(*sends)
            if variant == "no_transactions":
                await consumer.commit(
                    {tp: o for part in offsets.values() for tp, o in part.items()}
                )
            else:
                await asyncio.gather(
                    *(_commit(producers[number], tps, group) for number, tps in offsets.items())
                )
            rounds.append(time.perf_counter() - began)
    finally:
        await consumer.stop()
        for producer in producers:
            await producer.stop()


async def _commit(
    producer: AIOKafkaProducer, offsets: dict[TopicPartition, int], group: str
) -> None:
    await producer.send_offsets_to_transaction(offsets, group)
    await producer.commit_transaction()
    await producer.begin_transaction()


async def run_hop_floor(bootstrap: str, shape: HopShape, variant: str) -> dict[str, Any]:
    """Offer the shape's inputs to one hop of this variant; its one-hop latencies."""
    prefix = f"hop-floor-{uuid.uuid4().hex[:8]}"
    source, output = f"{prefix}.in", f"{prefix}.out"
    await create_topics(bootstrap, [source, output], shape.partitions)
    tail = _Tail(bootstrap, output)
    rounds: list[float] = []
    tasks = [
        asyncio.create_task(tail.run()),
        asyncio.create_task(_hop(bootstrap, (source, output), prefix, variant, shape, rounds)),
    ]
    sent = 0
    try:
        await asyncio.sleep(3)  # consumers joined and positioned
        sent = await _offer(bootstrap, source, shape)
        tail.expected = sent
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tail.all_seen.wait(), 30)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
    hops = sorted(
        (seen - struct.unpack(">d", sent_at)[0]) * 1000 for sent_at, seen in tail.first_seen.items()
    )
    return {
        "variant": variant,
        "sent": sent,
        "seen": len(hops),
        "one_hop_ms": {q: _round(percentile(hops, q)) for q in (50, 95, 99)},
        "commit_rounds": len(rounds),
        "mean_commit_round_ms": _round(1000 * sum(rounds) / len(rounds)) if rounds else None,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


async def measure_hop_floor(bootstrap: str, shape: HopShape, repeat: int = 2) -> dict[str, Any]:
    """Every variant, interleaved ``repeat`` times."""
    runs: dict[str, list[dict[str, Any]]] = {variant: [] for variant in VARIANTS}
    for _ in range(repeat):
        for variant in VARIANTS:
            runs[variant].append(await run_hop_floor(bootstrap, shape, variant))
    return {"shape": asdict(shape), "runs": runs}


def render_hop_floor(result: dict[str, Any]) -> str:
    """The floor as a markdown table."""
    shape = result["shape"]
    lines = [
        "## One-hop latency floor (aiokafka alone, commit on drain)",
        "",
        f"{shape['rate']:g} inputs/s for {shape['seconds']:g} s over {shape['partitions']} "
        f"partitions, {shape['outputs']} records written per input; from an input's send "
        "to its first output seen by a read_committed consumer. No Faust, no tables, no "
        "codecs.",
        "",
        "| commits | run | inputs (timed) | one-hop p50 / p95 / p99 ms | mean commit round ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for variant, runs in result["runs"].items():
        for number, run in enumerate(runs, 1):
            hop = run["one_hop_ms"]
            lines.append(
                f"| {variant.replace('_', ' ')} | {number} | {run['sent']} ({run['seen']}) | "
                f"{hop[50]} / {hop[95]} / {hop[99]} | {run['mean_commit_round_ms']} |"
            )
    return "\n".join(lines) + "\n"
