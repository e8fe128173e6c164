"""Fault schedules against a live deployment under load, then the verifier's verdict.

A run sends seeded shop traffic at a steady rate in the background and strikes each
fault of its schedule at a random moment while the load runs; faults overlap when one
is still under way as the next strikes. Faults: a worker killed with SIGKILL (once, or
again during its own restore), workers joining (one, two in a row, or during another's
recovery) and leaving (ready or not yet), the broker stopped gracefully or killed
(alone, or while a worker joins), and a producer re-sending messages it already sent.

A supervisor restarts workers that exit on their own, as an orchestrator would: under
exactly-once a worker crashes rather than continue on a broken transaction. It never
restarts a worker that hangs, nor one a fault retired. After the last fault, liveness
is checked (every worker ready, every order decided, within a bound), then ``verify``
reads every topic read-committed and checks the exactly-once invariants.
"""

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import aiohttp

from ecommerce_streams.harness.deployment import Deployment, WorkerProcess
from ecommerce_streams.harness.kafka import EmbeddedKafka
from ecommerce_streams.harness.kafka.cluster import EmbeddedCluster
from ecommerce_streams.harness.load import LoadProfile, LoadSummary, Outgoing, generate
from ecommerce_streams.harness.load.sending import send_messages
from ecommerce_streams.harness.routing_examples import RoutingExamples
from ecommerce_streams.harness.supervision import Supervisor
from ecommerce_streams.harness.verify import VerifyReport, verify
from ecommerce_streams.harness.verify.liveness import DEFAULT_BOUND, await_recovery
from ecommerce_streams.operations.topic_setup import ensure_topics
from ecommerce_streams.routing.actions import open_catalogues

MAX_WORKERS = 4
"""Joins beyond this many serving workers are skipped (the machine has few cores)."""

OUTAGE_TOLERANCE_MS = 300_000
"""How long a producer keeps a message while the broker is away (a restart takes ~30 s)."""

BROKER_START_TIMEOUT = 180.0
DEFAULT_LOAD_SECONDS = 60.0


class Fault(StrEnum):
    """One thing that goes wrong in production."""

    KILL_WORKER = "kill-worker"
    ADD_WORKER = "add-worker"
    REMOVE_WORKER = "remove-worker"
    RESTART_BROKER = "restart-broker"
    KILL_BROKER = "kill-broker"
    RETRY_PRODUCER = "retry-producer"
    RESTART_BROKER_DURING_JOIN = "restart-broker-during-join"
    JOIN_DURING_RECOVERY = "join-during-recovery"
    REMOVE_BEFORE_READY = "remove-before-ready"
    TWO_JOINS = "two-joins"
    KILL_DURING_RESTORE = "kill-during-restore"
    KILL_NODE = "kill-node"
    KILL_CONTROLLER = "kill-controller"
    TWO_NODES_DOWN = "two-nodes-down"


BROKER_FAULTS = frozenset(
    {Fault.RESTART_BROKER, Fault.KILL_BROKER, Fault.RESTART_BROKER_DURING_JOIN}
)
"""Faults that need the single broker to be ours to stop and start."""
CLUSTER_FAULTS = frozenset({Fault.KILL_NODE, Fault.KILL_CONTROLLER, Fault.TWO_NODES_DOWN})
"""Faults of one node (or two) of a three-broker cluster of ours."""


@dataclass
class ChaosRun:
    """What one schedule did and what the verifier found."""

    seed: int
    faults: list[Fault]
    orders: int
    report: VerifyReport | None = None
    restarts: int = 0
    seconds: float = 0.0
    recovery_seconds: float | None = None
    """From the last fault (or the end of the load, if later) to every worker ready and
    every order decided; None if that did not happen within the bound."""
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Faults or load the harness could not carry out: the run proves nothing then."""

    @property
    def ok(self) -> bool:
        """No invariant violated and every fault carried out."""
        return self.report is not None and self.report.ok and not self.errors


def random_schedule(
    rng: random.Random, length: int, *, broker_faults: bool = True, cluster: bool = False
) -> list[Fault]:
    """A random sequence of faults: broker faults only when the broker is ours, those of a
    single broker or those of a cluster's nodes."""
    kinds = [
        f
        for f in Fault
        if f not in BROKER_FAULTS | CLUSTER_FAULTS
        or (broker_faults and f in (CLUSTER_FAULTS if cluster else BROKER_FAULTS))
    ]
    return [rng.choice(kinds) for _ in range(length)]


class Chaos:
    """Applies faults to one deployment and keeps crashed workers coming back."""

    def __init__(
        self,
        deployment: Deployment,
        kafka: EmbeddedKafka | None,
        rng: random.Random,
        cluster: EmbeddedCluster | None = None,
    ):
        self.deployment = deployment
        self.kafka = kafka
        self.cluster = cluster
        self.rng = rng
        self.sent: list[Outgoing] = []
        self.errors: list[str] = []
        self._broker = asyncio.Lock()
        self._busy: set[str] = set()
        self._strikes: dict[Fault, Callable[[], Awaitable[str]]] = {
            Fault.KILL_WORKER: self.kill_worker,
            Fault.ADD_WORKER: self.add_worker,
            Fault.REMOVE_WORKER: self.remove_worker,
            Fault.RESTART_BROKER: lambda: self.restart_broker(kill=False),
            Fault.KILL_BROKER: lambda: self.restart_broker(kill=True),
            Fault.RETRY_PRODUCER: self.retry_producer,
            Fault.RESTART_BROKER_DURING_JOIN: self.restart_broker_during_join,
            Fault.JOIN_DURING_RECOVERY: self.join_during_recovery,
            Fault.REMOVE_BEFORE_READY: self.remove_before_ready,
            Fault.TWO_JOINS: self.two_joins,
            Fault.KILL_DURING_RESTORE: self.kill_during_restore,
            Fault.KILL_NODE: lambda: self.kill_nodes(1),
            Fault.KILL_CONTROLLER: lambda: self.kill_nodes(1, controller=True),
            Fault.TWO_NODES_DOWN: lambda: self.kill_nodes(2),
        }

    async def apply(self, fault: Fault) -> str:
        """Strike once; return a short description of what happened."""
        return await self._strikes[fault]()

    async def strike_all(
        self, schedule: Iterable[tuple[float, Fault]], say: Callable[[str], None]
    ) -> list[str]:
        """Strike each fault ``at`` seconds from now, overlapping; return what each did.

        A fault the harness cannot carry out (say the broker does not come back) is
        noted in :attr:`errors`, since the run then proves nothing.
        """
        loop = asyncio.get_running_loop()
        start = loop.time()

        async def strike(at: float, fault: Fault) -> str:
            await asyncio.sleep(max(0.0, start + at - loop.time()))
            say(f"{at:6.1f}s  {fault}")
            try:
                note = await self.apply(fault)
            except Exception as exc:
                note = f"{fault} failed: {exc!r}"
                self.errors.append(note)
            say(f"{loop.time() - start:6.1f}s  {note}")
            return note

        return list(await asyncio.gather(*(strike(at, fault) for at, fault in schedule)))

    async def kill_worker(self) -> str:
        """SIGKILL a running worker, as a crash would, and start it again."""
        with self._victim() as victim:
            if victim is None:
                return "kill-worker skipped: no running worker"
            await self._crash(victim)
            return f"killed -9 and restarted {victim.name}"

    async def add_worker(self) -> str:
        """One more worker joins the group (a rebalance)."""
        joined = self._join()
        return f"added {joined.name}" if joined else "add-worker skipped: enough workers"

    async def remove_worker(self) -> str:
        """A running worker leaves with SIGTERM (a rebalance) and is not restarted.

        Another worker no fault holds must stay: a worker another fault holds may be
        stopped by it (remove-before-ready), and the group would be left with none.
        """
        staying = [w for w in self.deployment.serving() if w.running and w.name not in self._busy]
        if len(staying) < 2:
            return "remove-worker skipped: only one worker runs"
        with self._victim() as victim:
            if victim is None:
                return "remove-worker skipped: every worker is in another fault"
            await self._retire(victim)
            return f"stopped {victim.name}"

    async def restart_broker(self, *, kill: bool) -> str:
        """Stop the broker (SIGTERM, or SIGKILL when ``kill``), then start it again."""
        if self.kafka is None:
            return "broker fault skipped: the broker is not ours"
        kafka = self.kafka
        async with self._broker:
            await asyncio.to_thread(kafka.kill if kill else kafka.stop)
            await asyncio.to_thread(kafka.start, BROKER_START_TIMEOUT)
        return "killed -9 and restarted the broker" if kill else "stopped and restarted the broker"

    async def kill_nodes(self, count: int, *, controller: bool = False) -> str:
        """Kill -9 ``count`` nodes of the cluster (the active controller first if asked),
        leave them down a few seconds (with two down, acks=all writes must wait), restart.

        While a quorum is left, a killed node comes back only once it is fenced (see
        ``EmbeddedCluster.await_fenced``); with two of three down none can fence them.
        """
        cluster = self.cluster
        if cluster is None:
            return "cluster fault skipped: no cluster of ours"
        async with self._broker:
            running = cluster.running()
            leader = cluster.controller_leader()
            if controller and leader in running:
                victims = [leader]
            else:
                victims = self.rng.sample(running, min(count, len(running)))
            for node in victims:
                cluster.kill(node)
            down = self.rng.uniform(2.0, 10.0)
            await asyncio.sleep(down)
            if len(victims) < len(running) // 2 + 1:  # the quorum lives on: it fences them
                await cluster.await_fenced(victims, BROKER_START_TIMEOUT)
            for node in victims:
                await asyncio.to_thread(cluster.restart, node)
            await asyncio.to_thread(cluster.await_brokers, victims, BROKER_START_TIMEOUT)
        role = " (the active controller)" if controller and victims == [leader] else ""
        return f"killed -9 node(s) {victims}{role}, restarted them after {down:.1f}s or more"

    async def retry_producer(self) -> str:
        """Send again up to 500 messages already sent (same event ids)."""
        if not self.sent:
            return "retry-producer skipped: nothing sent yet"
        start = self.rng.randrange(len(self.sent))
        again = self.sent[start : start + 500]
        await send_messages(
            self.deployment.bootstrap,
            self.deployment.topics,
            again,
            outage_tolerance_ms=OUTAGE_TOLERANCE_MS,
        )
        return f"re-sent {len(again)} messages"

    async def restart_broker_during_join(self) -> str:
        """A worker joins and, while it does, the broker stops gracefully and starts again."""
        joined = self._join()
        if joined is None:
            return "restart-broker-during-join skipped: enough workers"
        await asyncio.sleep(self.rng.uniform(0.5, 3.0))
        restarted = await self.restart_broker(kill=False)
        return f"added {joined.name}, then {restarted} while it joined"

    async def join_during_recovery(self) -> str:
        """A worker is killed -9 and restarted, and another joins while it restores."""
        with self._victim() as victim:
            if victim is None:
                return "join-during-recovery skipped: no running worker"
            await self._crash(victim)
            await asyncio.sleep(self.rng.uniform(0.0, 2.0))
            joined = self._join()
            who = joined.name if joined else "nobody (enough workers)"
            return f"killed -9 and restarted {victim.name}; {who} joined during its recovery"

    async def remove_before_ready(self) -> str:
        """A worker joins and is stopped (SIGTERM) a few seconds later, before it is ready."""
        joined = self._join()
        if joined is None:
            return "remove-before-ready skipped: enough workers"
        with self._holding(joined):
            delay = self.rng.uniform(0.5, 3.0)
            await asyncio.sleep(delay)
            state = "it was ready already" if await _ready(joined) else "before it was ready"
            await self._retire(joined)
            return f"added {joined.name} and stopped it {delay:.1f}s later, {state}"

    async def two_joins(self) -> str:
        """Two workers join one after the other (two rebalances in a row)."""
        first = self._join()
        await asyncio.sleep(self.rng.uniform(0.5, 2.0))
        second = self._join()
        joined = [w.name for w in (first, second) if w is not None]
        return f"added {' and '.join(joined)}" if joined else "two-joins skipped: enough workers"

    async def kill_during_restore(self) -> str:
        """A worker is killed -9, restarted, and killed -9 again during its own restore."""
        with self._victim() as victim:
            if victim is None:
                return "kill-during-restore skipped: no running worker"
            await self._crash(victim)
            delay = self.rng.uniform(1.0, 4.0)
            await asyncio.sleep(delay)
            state = "after it was ready" if await _ready(victim) else "during its restore"
            await self._crash(victim)
            return f"killed -9 {victim.name}, restarted it, killed it again {state}"

    @contextlib.contextmanager
    def _victim(self) -> Iterator[WorkerProcess | None]:
        """A random running worker no other fault is using, held for this fault."""
        candidates = [
            w for w in self.deployment.serving() if w.running and w.name not in self._busy
        ]
        victim = self.rng.choice(candidates) if candidates else None
        if victim is None:
            yield None
            return
        with self._holding(victim):
            yield victim

    @contextlib.contextmanager
    def _holding(self, worker: WorkerProcess) -> Iterator[None]:
        """Keep other faults away from ``worker`` meanwhile."""
        self._busy.add(worker.name)
        try:
            yield
        finally:
            self._busy.discard(worker.name)

    def _join(self) -> WorkerProcess | None:
        """Start one more worker, unless MAX_WORKERS already serve."""
        if len(self.deployment.serving()) >= MAX_WORKERS:
            return None
        worker = self.deployment.add_worker()
        worker.start()
        return worker

    async def _crash(self, worker: WorkerProcess) -> None:
        """SIGKILL the worker and start it again at once."""
        await asyncio.to_thread(worker.kill)
        worker.start()

    async def _retire(self, worker: WorkerProcess) -> None:
        """Take the worker out for good: SIGTERM, and never restart it."""
        worker.retired = True
        await asyncio.to_thread(worker.terminate)


async def _ready(worker: WorkerProcess) -> bool:
    """Whether the worker answers /ready right now."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        return await worker.is_ready(session)


async def run_schedule(
    *,
    bootstrap: str,
    workdir: Path,
    faults: Sequence[Fault],
    orders: int,
    seed: int,
    kafka: EmbeddedKafka | None = None,
    cluster: EmbeddedCluster | None = None,
    workers: int = 2,
    partitions: int = 4,
    load_seconds: float = DEFAULT_LOAD_SECONDS,
    ready_bound: float = DEFAULT_BOUND,
    verify_timeout: float = 300.0,
    extra_env: Mapping[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> ChaosRun:
    """Run one fault schedule against a fresh deployment under load and verify the outcome.

    The load is spread over about ``load_seconds``; each fault strikes at a random
    moment within its first 80 %. ``ready_bound`` is how long after the last fault (or
    the end of the load, if later) every worker must be ready and every order decided.
    """
    began = time.monotonic()
    run = ChaosRun(seed=seed, faults=list(faults), orders=orders)
    replication = cluster.size if cluster is not None else 1
    deployment = Deployment(
        bootstrap=bootstrap,
        workdir=workdir,
        partitions=partitions,
        extra_env={
            "ES_STALL_TIMEOUT_SECONDS": "30",
            "ES_REPLICATION": str(replication),
            **(extra_env or {}),
        },
    )
    rng = random.Random(seed)
    chaos = Chaos(deployment, kafka, rng, cluster)
    messages = list(generate(LoadProfile(orders=orders, seed=seed)))
    expected = LoadSummary.of(messages)
    say = progress or (lambda line: None)
    supervisor = Supervisor(deployment)
    load: asyncio.Task[None] | None = None
    try:
        await ensure_topics(
            bootstrap, deployment.topics, partitions=partitions, replication=replication
        )
        async with open_catalogues(
            bootstrap, deployment.topics, partitions=partitions, replication=replication
        ) as shop:
            routing = await RoutingExamples.of(deployment.topics).install(shop)
        await deployment.start_workers(workers)
        with supervisor:
            load = asyncio.create_task(
                send_messages(
                    bootstrap,
                    deployment.topics,
                    messages,
                    rate=len(messages) / load_seconds,
                    outage_tolerance_ms=OUTAGE_TOLERANCE_MS,
                    on_sent=chaos.sent.append,
                )
            )
            moments = sorted(rng.uniform(0.0, 0.8 * load_seconds) for _ in faults)
            run.notes = await chaos.strike_all(zip(moments, faults, strict=True), say)
            try:
                await load
            except Exception as exc:
                chaos.errors.append(f"the load could not be sent: {exc!r}")
            say("load sent; waiting until every worker is ready and every order decided")
            recovery = await await_recovery(
                bootstrap,
                deployment.topics,
                deployment.serving,
                expected.order_ids,
                since=asyncio.get_running_loop().time(),
                bound=ready_bound,
            )
            run.recovery_seconds = recovery.seconds
            run.report = await verify(
                bootstrap,
                deployment.topics,
                expected=expected,
                timeout=verify_timeout,
                routing=routing,
            )
            wedge = recovery.violation()
            if wedge is not None:
                run.report.violations.insert(0, wedge)
    finally:
        if load is not None:
            load.cancel()
        run.restarts = supervisor.restarts
        run.errors = chaos.errors
        deployment.stop()
        run.seconds = time.monotonic() - began
    return run


def render_row(index: int, run: ChaosRun) -> str:
    """One line per run: faults, orders, seconds to recover after the last fault, violations."""
    violations = len(run.report.violations) if run.report else "n/a"
    ready = f"{run.recovery_seconds:6.1f}s" if run.recovery_seconds is not None else " never"
    faults = ",".join(run.faults) or "-"
    errors = f"  errors={len(run.errors)}" if run.errors else ""
    return (
        f"{index:>3}  seed={run.seed:<6} orders={run.orders:<6} restarts={run.restarts:<3} "
        f"ready-after={ready}  total={run.seconds:6.1f}s  violations={violations}{errors}  "
        f"faults={faults}"
    )


async def run_campaign(
    *,
    runs: int,
    seed: int,
    orders: int,
    faults: int,
    ready_bound: float = DEFAULT_BOUND,
    load_seconds: float = DEFAULT_LOAD_SECONDS,
    brokers: int = 1,
) -> bool:
    """Run ``runs`` random schedules on the embedded broker (or a cluster of ``brokers``
    nodes, its nodes killed among the faults), one row each; True if all held."""
    import logging
    import tempfile

    from ecommerce_streams.harness.kafka import free_port
    from ecommerce_streams.harness.kafka.environment import default_home
    from ecommerce_streams.harness.kafka.ports import free_port_block

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # every reconnect in an outage
    rng = random.Random(seed)
    workdir = Path(tempfile.mkdtemp(prefix="ecommerce-streams-chaos-"))
    kafka: EmbeddedKafka | None = None
    cluster: EmbeddedCluster | None = None
    if brokers > 1:
        base = free_port_block(2 * brokers)
        cluster = EmbeddedCluster(
            workdir / "cluster",
            size=brokers,
            port=base,
            controller_port=base + 1,
            dist_dir=default_home() / "dist",
            heap="384m",
        )
        bootstrap = await asyncio.to_thread(cluster.start, BROKER_START_TIMEOUT)
    else:
        kafka = EmbeddedKafka(
            port=free_port(),
            controller_port=free_port(),
            home=workdir / "kafka",
            dist_dir=default_home() / "dist",
        )
        bootstrap = kafka.start(timeout=BROKER_START_TIMEOUT)
    failed = 0
    try:
        where = f"a cluster of {brokers} brokers" if cluster else "one broker"
        print(
            f"chaos: {runs} runs, {orders} orders over {load_seconds:g}s and {faults} faults "
            f"each, seed {seed}, on {where}"
        )
        print(f"  (work directory {workdir})", flush=True)
        for index in range(1, runs + 1):
            run = await run_schedule(
                bootstrap=bootstrap,
                workdir=workdir / f"run-{index}",
                faults=random_schedule(rng, faults, cluster=cluster is not None),
                orders=orders,
                seed=rng.randrange(1_000_000),
                kafka=kafka,
                cluster=cluster,
                ready_bound=ready_bound,
                load_seconds=load_seconds,
                progress=lambda line: print(f"       {line}", flush=True),
            )
            print(render_row(index, run), flush=True)
            if not run.ok:
                failed += 1
                for error in run.errors:
                    print(f"  error: {error}", flush=True)
                print(run.report.render(limit=20) if run.report else "no report", flush=True)
    finally:
        if cluster is not None:
            await asyncio.to_thread(cluster.stop)
        if kafka is not None:
            kafka.stop()
    print(f"{runs - failed}/{runs} runs without violations", flush=True)
    return failed == 0
