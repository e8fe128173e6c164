"""Fault schedules against a live deployment, then the verifier's verdict.

A run sends seeded shop traffic in segments; after each segment (while the workers
are still busy with it) one fault strikes: a worker is killed with SIGKILL and
restarted, a worker joins or leaves (a rebalance), the broker restarts, or a producer
re-sends messages it already sent (same event ids). A supervisor restarts workers
that exit on their own, as an orchestrator would: under exactly-once a worker
crashes rather than continue on a broken transaction. Finally ``verify`` reads every
topic read-committed and checks the four invariants.
"""

import asyncio
import contextlib
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from aiokafka import AIOKafkaProducer

from ecommerce_streams.harness import Deployment
from ecommerce_streams.kafka import EmbeddedKafka
from ecommerce_streams.load import LoadProfile, LoadSummary, Outgoing, generate
from ecommerce_streams.topic_setup import ensure_topics
from ecommerce_streams.verify import VerifyReport, verify


class Fault(StrEnum):
    """One thing that goes wrong in production."""

    KILL_WORKER = "kill-worker"
    ADD_WORKER = "add-worker"
    REMOVE_WORKER = "remove-worker"
    RESTART_BROKER = "restart-broker"
    RETRY_PRODUCER = "retry-producer"


@dataclass
class ChaosRun:
    """What one schedule did and what the verifier found."""

    seed: int
    faults: list[Fault]
    orders: int
    report: VerifyReport | None = None
    restarts: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No invariant violated."""
        return self.report is not None and self.report.ok


def random_schedule(rng: random.Random, length: int, *, broker_faults: bool = True) -> list[Fault]:
    """A random sequence of faults (broker restarts only when the broker is ours)."""
    kinds = list(Fault) if broker_faults else [f for f in Fault if f is not Fault.RESTART_BROKER]
    return [rng.choice(kinds) for _ in range(length)]


def segments(messages: Sequence[Outgoing], count: int) -> list[Sequence[Outgoing]]:
    """Split the traffic into ``count`` consecutive, nearly equal parts."""
    size = -(-len(messages) // count)
    return [messages[i : i + size] for i in range(0, len(messages), size)]


async def send_messages(
    bootstrap: str, deployment: Deployment, messages: Sequence[Outgoing]
) -> None:
    """Produce messages (acks=all, idempotent) and wait until all are acknowledged."""
    names = deployment.topics
    topic_of = {"orders": names.orders, "payments": names.payments, "inventory": names.inventory}
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    try:
        futures = [
            await producer.send(topic_of[m.topic_role], m.value, key=m.key) for m in messages
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


class Chaos:
    """Applies faults to one deployment and keeps crashed workers coming back."""

    def __init__(self, deployment: Deployment, kafka: EmbeddedKafka | None, rng: random.Random):
        self.deployment = deployment
        self.kafka = kafka
        self.rng = rng
        self.restarts = 0
        self.sent: list[Outgoing] = []

    async def supervise(self, stop: asyncio.Event) -> None:
        """Restart workers that exited on their own until ``stop`` is set."""
        while not stop.is_set():
            for worker in self.deployment.crashed():
                if not getattr(worker, "retired", False):
                    worker.start()
                    self.restarts += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)

    async def apply(self, fault: Fault) -> str:
        """Strike once; return a short description of what happened."""
        running = [w for w in self.deployment.workers if w.running]
        if fault is Fault.KILL_WORKER and running:
            victim = self.rng.choice(running)
            victim.kill()
            victim.start()
            return f"killed -9 and restarted {victim.name}"
        if fault is Fault.ADD_WORKER:
            worker = self.deployment.add_worker()
            worker.start()
            return f"added {worker.name}"
        if fault is Fault.REMOVE_WORKER and len(running) > 1:
            victim = self.rng.choice(running)
            victim.retired = True  # type: ignore[attr-defined]
            victim.terminate()
            return f"stopped {victim.name}"
        if fault is Fault.RESTART_BROKER and self.kafka is not None:
            self.kafka.stop()
            self.kafka.start(timeout=180)
            return "restarted the broker"
        if fault is Fault.RETRY_PRODUCER and self.sent:
            start = self.rng.randrange(len(self.sent))
            again = self.sent[start : start + 500]
            await send_messages(self.deployment.bootstrap, self.deployment, again)
            return f"re-sent {len(again)} messages"
        return f"{fault} skipped"


async def run_schedule(
    *,
    bootstrap: str,
    workdir: Path,
    faults: Sequence[Fault],
    orders: int,
    seed: int,
    kafka: EmbeddedKafka | None = None,
    workers: int = 2,
    partitions: int = 4,
    verify_timeout: float = 300.0,
    extra_env: Mapping[str, str] | None = None,
) -> ChaosRun:
    """Run one fault schedule against a fresh deployment and verify the outcome."""
    began = time.monotonic()
    run = ChaosRun(seed=seed, faults=list(faults), orders=orders)
    deployment = Deployment(
        bootstrap=bootstrap,
        workdir=workdir,
        partitions=partitions,
        extra_env={"ES_STALL_TIMEOUT_SECONDS": "30", **(extra_env or {})},
    )
    chaos = Chaos(deployment, kafka, random.Random(seed))
    profile = LoadProfile(orders=orders, seed=seed)
    messages = list(generate(profile))
    stop = asyncio.Event()
    supervisor: asyncio.Task[None] | None = None
    try:
        await ensure_topics(bootstrap, deployment.topics, partitions=partitions)
        await deployment.start_workers(workers)
        supervisor = asyncio.create_task(chaos.supervise(stop))
        parts = segments(messages, len(faults) + 1)
        for index, part in enumerate(parts):
            await send_messages(bootstrap, deployment, part)
            chaos.sent.extend(part)
            if index < len(faults):
                run.notes.append(await chaos.apply(faults[index]))
        run.report = await verify(
            bootstrap,
            deployment.topics,
            expected=LoadSummary.of(messages),
            timeout=verify_timeout,
        )
    finally:
        stop.set()
        if supervisor is not None:
            await supervisor
        run.restarts = chaos.restarts
        deployment.stop()
        run.seconds = time.monotonic() - began
    return run


def render_row(index: int, run: ChaosRun) -> str:
    """One line per run: faults, orders, violations."""
    violations = len(run.report.violations) if run.report else "n/a"
    faults = ",".join(run.faults) or "-"
    return (
        f"{index:>3}  seed={run.seed:<6} orders={run.orders:<6} "
        f"restarts={run.restarts:<3} {run.seconds:6.1f}s  violations={violations}  {faults}"
    )


async def run_campaign(*, runs: int, seed: int, orders: int, faults: int) -> bool:
    """Run ``runs`` random schedules on the embedded broker, one row each; True if all held."""
    import tempfile

    from ecommerce_streams.kafka import free_port
    from ecommerce_streams.kafka.environment import default_home

    rng = random.Random(seed)
    workdir = Path(tempfile.mkdtemp(prefix="ecommerce-streams-chaos-"))
    kafka = EmbeddedKafka(
        port=free_port(),
        controller_port=free_port(),
        home=workdir / "kafka",
        dist_dir=default_home() / "dist",
    )
    kafka.start(timeout=180)
    failed = 0
    try:
        print(f"chaos: {runs} runs, {orders} orders and {faults} faults each, seed {seed}")
        for index in range(1, runs + 1):
            run = await run_schedule(
                bootstrap=kafka.bootstrap,
                workdir=workdir / f"run-{index}",
                faults=random_schedule(rng, faults),
                orders=orders,
                seed=rng.randrange(1_000_000),
                kafka=kafka,
            )
            print(render_row(index, run), flush=True)
            if not run.ok:
                failed += 1
                print(run.report.render(limit=20) if run.report else "no report", flush=True)
    finally:
        kafka.stop()
    print(f"{runs - failed}/{runs} runs without violations")
    return failed == 0
