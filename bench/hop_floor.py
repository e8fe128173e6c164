"""How fast one transactional hop can be on this broker with aiokafka alone: the latency floor.

A worker's one-hop latency (an input record until the first record it caused is visible
to a read_committed consumer) is the wait for the commit round in progress, the
processing, and a commit round of its own. This measures the same hop with no Faust, no
tables and no codecs: records offered at a fixed rate to one process that consumes them
read_committed, writes ``outputs`` records per input in a transaction, and commits as
soon as its fetch drained (offsets in the transaction), as the worker's commit-on-drain
does; a read_committed tail times each input's first output. Four ways of committing:

- **per partition**: one transactional producer per input partition, committed at once
  (the worker's layout before it had one producer);
- **one producer**: one transactional producer for the process (the worker's layout, with
  fencing by consumer group generation, KIP-447): an input that arrives while a
  transaction commits waits for that commit, then for its own;
- **alternating**: two transactional producers taking turns, so the inputs that arrive
  while one transaction commits are written in the other's at once; a transaction's
  EndTxn still waits for the one before it, so offsets commit in order. What processing
  during a commit would give the worker;
- **no transactions**: outputs acknowledged, then offsets committed (at-least-once): what
  the hop costs without a commit round.

``output_partitions`` spreads each input's outputs over distinct partitions, as a
worker's derived events and table changelogs are (about 8 records in 8 partitions per
source event), so a transaction's markers go to as many partitions as a worker's do.

No design on this client and broker gets a worker's hop below the floor of its variant.
"""

import asyncio
import contextlib
import os
import struct
import time
import uuid
from dataclasses import asdict, dataclass, replace
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.ceiling import create_topics
from bench.latency import percentile
from ecommerce_streams.exactly_once.producer import retry_first_partitions_quickly

#: Bytes of an output record, about the mean of the benchmark's messages.
RECORD_BYTES = 390
#: The tail's and the hop's longest fetch wait, as the bench tail's and the worker's.
FETCH_MAX_WAIT_MS = 100
#: Untimed warm-up passes before the timed inputs.
WARM_UP_ROUNDS = 2
VARIANTS = ("per_partition", "one_producer", "alternating", "no_transactions")


@dataclass(frozen=True)
class HopShape:
    """The hop's traffic."""

    #: Input records offered per second.
    rate: float = 50.0
    #: Seconds the inputs are offered for.
    seconds: float = 20.0
    #: Records written per input (a derived event and its changelog records).
    outputs: int = 2
    #: Partitions of the input topic.
    partitions: int = 4
    #: Partitions of the output topic; an input's outputs go to distinct ones, in turn.
    output_partitions: int = 4


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
        #: Inputs sent before this wall-clock time are not noted (the warm-up's).
        self.noted_from = 0.0
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
                        sent_at = record.value[:8]
                        if struct.unpack(">d", sent_at)[0] >= self.noted_from:
                            self.first_seen.setdefault(sent_at, now)
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
    count = {"per_partition": shape.partitions, "alternating": 2}.get(variant, 1)
    retry_first_partitions_quickly()  # as the worker does
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
        if variant == "alternating":
            await _alternate(consumer, producers, (output, group), shape, rounds)
        else:
            await _commit_on_drain(consumer, producers, (output, group), variant, shape, rounds)
    finally:
        await consumer.stop()
        for producer in producers:
            await producer.stop()


async def _commit_on_drain(
    consumer: AIOKafkaConsumer,
    producers: list[AIOKafkaProducer],
    destinations: tuple[str, str],
    variant: str,
    shape: HopShape,
    rounds: list[float],
) -> None:
    """Write what each fetch drained, then commit every producer's transaction at once."""
    output, group = destinations
    count = len(producers)
    written = 0
    while True:
        batches = await consumer.getmany(timeout_ms=100)
        if not batches:
            continue
        offsets: dict[int, dict[TopicPartition, int]] = {}
        sends = []
        for tp, records in batches.items():
            number = tp.partition % count
            for record in records:
                sends.extend(await _write(producers[number], output, record.value, written, shape))
                written += 1
            offsets.setdefault(number, {})[tp] = records[-1].offset + 1
        began = time.perf_counter()
        await asyncio.gather(*sends)
        if variant == "no_transactions":
            await consumer.commit({tp: o for part in offsets.values() for tp, o in part.items()})
        else:
            await asyncio.gather(
                *(_commit(producers[number], tps, group) for number, tps in offsets.items())
            )
        rounds.append(time.perf_counter() - began)


async def _write(
    producer: AIOKafkaProducer, output: str, value: bytes, written: int, shape: HopShape
) -> list[asyncio.Future[Any]]:
    """Send the outputs of the ``written``-th input, each to its own output partition."""
    return [
        await producer.send(output, value, partition=output_partition(shape, written, k))
        for k in range(shape.outputs)
    ]


def output_partition(shape: HopShape, written: int, output: int) -> int:
    """The partition of the ``output``-th record of the ``written``-th input: the next in turn."""
    return (written * shape.outputs + output) % shape.output_partitions


async def _alternate(
    consumer: AIOKafkaConsumer,
    producers: list[AIOKafkaProducer],
    destinations: tuple[str, str],
    shape: HopShape,
    rounds: list[float],
) -> None:
    """Write what each fetch drained in the idle producer's transaction while the other commits.

    A producer begins its next transaction only once its last one committed, and each
    EndTxn waits for the one before it: the group's offsets never go backwards.
    """
    output, group = destinations
    commits: list[asyncio.Task[None] | None] = [None] * len(producers)
    previous: asyncio.Task[None] | None = None
    turn = written = 0
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=100)
            if not batches:
                continue
            busy = commits[turn]
            if busy is not None:
                await busy
            producer = producers[turn]
            sends = []
            for records in batches.values():
                for record in records:
                    sends.extend(await _write(producer, output, record.value, written, shape))
                    written += 1
            offsets = {tp: records[-1].offset + 1 for tp, records in batches.items()}
            previous = commits[turn] = asyncio.create_task(
                _commit_after(producer, sends, (offsets, group), previous, rounds)
            )
            turn = (turn + 1) % len(producers)
    finally:
        for task in commits:
            if task is not None:
                task.cancel()


async def _commit_after(
    producer: AIOKafkaProducer,
    sends: list[asyncio.Future[Any]],
    offsets_of: tuple[dict[TopicPartition, int], str],
    before: asyncio.Task[None] | None,
    rounds: list[float],
) -> None:
    """Commit once the records are acknowledged and the transaction before has committed."""
    offsets, group = offsets_of
    began = time.perf_counter()
    await asyncio.gather(*sends)
    await producer.send_offsets_to_transaction(offsets, group)
    if before is not None:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(before)
    await producer.commit_transaction()
    await producer.begin_transaction()
    rounds.append(time.perf_counter() - began)


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
    await create_topics(bootstrap, [source], shape.partitions)
    await create_topics(bootstrap, [output], shape.output_partitions)
    tail = _Tail(bootstrap, output)
    rounds: list[float] = []
    tasks = [
        asyncio.create_task(tail.run()),
        asyncio.create_task(_hop(bootstrap, (source, output), prefix, variant, shape, rounds)),
    ]
    sent = 0
    try:
        await _warm_up(bootstrap, source, shape, tail)
        sent = await _offer(bootstrap, source, shape)
        await _all_seen(tail, sent)
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
        "histogram_mean_ms": _round(1000 * sum(rounds) / len(rounds)) if rounds else None,
    }


async def _warm_up(bootstrap: str, source: str, shape: HopShape, tail: _Tail) -> None:
    """Untimed inputs until one of them is seen after every output partition was written.

    Fresh topics' leaders and the consumers' positions take a few seconds on a busy
    broker; inputs offered meanwhile would time the start-up, not the hop.
    """
    await asyncio.sleep(3)  # consumers joined
    warm = replace(shape, seconds=max(1.0, shape.output_partitions / shape.outputs / shape.rate))
    for _ in range(WARM_UP_ROUNDS):
        await _all_seen(tail, await _offer(bootstrap, source, warm))
        tail.expected = None
        tail.noted_from = time.time()
        tail.first_seen.clear()
        tail.all_seen.clear()


async def _all_seen(tail: _Tail, sent: int) -> None:
    """Wait until the tail saw each of ``sent`` inputs' first output, or 30 s."""
    tail.expected = sent
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(tail.all_seen.wait(), 30)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


async def measure_hop_floor(
    bootstrap: str, shape: HopShape, repeat: int = 2, variants: tuple[str, ...] = VARIANTS
) -> dict[str, Any]:
    """The variants, interleaved ``repeat`` times."""
    runs: dict[str, list[dict[str, Any]]] = {variant: [] for variant in variants}
    for _ in range(repeat):
        for variant in variants:
            runs[variant].append(await run_hop_floor(bootstrap, shape, variant))
    return {"shape": asdict(shape), "runs": runs}


def render_hop_floor(result: dict[str, Any]) -> str:
    """The floor as a markdown table."""
    shape = result["shape"]
    lines = [
        "## One-hop latency floor (aiokafka alone, commit on drain)",
        "",
        f"{shape['rate']:g} inputs/s for {shape['seconds']:g} s over {shape['partitions']} "
        f"partitions, {shape['outputs']} records written per input to distinct partitions of "
        f"{shape.get('output_partitions', shape['partitions'])}; from an input's send "
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
                f"{hop[50]} / {hop[95]} / {hop[99]} | {run['histogram_mean_ms']} |"
            )
    return "\n".join(lines) + "\n"
