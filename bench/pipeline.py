"""One benchmark case: the full saga pipeline with N workers under one processing guarantee.

The case runs on a fresh deployment (own app id and topics) and measures, in order:

1. **Start-up**: workers started on empty topics and tables until every ``/ready``.
2. **Throughput**: a backlog of orders is sent first, then the workers drain it. The
   rate is source messages / (first derived record sent -> last order's terminal
   event received by a read_committed consumer), so it counts only inputs whose
   outputs are committed.
3. **Latency**: a second stream of orders offered at a fixed rate (about half of the
   measured maximum), each terminal event traced back to its input (``latency.py``).
4. **Memory**: every worker's VmRSS when ready, after the backlog and at the end.
5. **Correctness**: the verifier's four invariants over everything sent.
6. **Restore**: workers stopped, their datadirs deleted, started again; seconds until
   ``/ready``, against the changelogs' volume.
"""

import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from bench.latency import trace
from bench.machine import load_average
from bench.memory import rss_mb
from bench.supervision import Supervisor
from bench.tailing import CommittedTail
from ecommerce_streams.changelogs import changelog_topic, read_tables
from ecommerce_streams.consumer_group import group_id
from ecommerce_streams.harness import Deployment
from ecommerce_streams.load import LoadProfile, order_id_of, send_load
from ecommerce_streams.topic_setup import ensure_topics
from ecommerce_streams.verify import verify

APP_VERSION = 1
LATENCY_SEED_OFFSET = 1000


@dataclass(frozen=True)
class Case:
    """What one case runs: guarantee, workers and sizes."""

    guarantee: str
    workers: int
    orders: int
    latency_seconds: float
    partitions: int = 4
    seed: int = 1
    offered_rate: float | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    restore: bool = True

    @property
    def name(self) -> str:
        """Short label, e.g. ``exactly_once x2``."""
        return f"{self.guarantee} x{self.workers}"


async def run_case(bootstrap: str, workdir: Path, case: Case, say=print) -> dict[str, Any]:
    """Run the case on a fresh deployment and return its figures (see the module doc)."""
    deployment = Deployment(
        bootstrap=bootstrap,
        workdir=workdir,
        partitions=case.partitions,
        processing_guarantee=case.guarantee,
        extra_env=case.extra_env,
    )
    topics = deployment.topics
    result: dict[str, Any] = {"case": case.name, "guarantee": case.guarantee}
    result["workers"] = case.workers
    result["partitions"] = case.partitions
    result["env"] = dict(case.extra_env)
    await ensure_topics(bootstrap, topics, partitions=case.partitions)
    deployment.workdir.mkdir(parents=True, exist_ok=True)
    supervisor = Supervisor(deployment)
    try:
        with supervisor:
            backlog_profile = LoadProfile(orders=case.orders, seed=case.seed)
            backlog = await send_load(bootstrap, topics, backlog_profile)
            say(f"  {case.name}: backlog of {backlog.messages:,} messages sent")
            outputs = [topics.inventory_commands, topics.inventory_results, topics.order_events]
            tail = CommittedTail(
                bootstrap, outputs, decisions_topic=topics.order_events, expected=backlog.order_ids
            )
            await tail.start(from_end=False)
            started = time.time()
            for _ in range(case.workers):
                deployment.add_worker().start()
            await supervisor.wait_ready()
            ready = time.time()
            rss_at_ready = [rss_mb(w.pid) for w in deployment.workers]
            decided = await tail.wait_decided(timeout=max(300.0, case.orders / 5))
            await tail.stop()
            rss_after_backlog = [rss_mb(w.pid) for w in deployment.workers]
            result["startup_seconds"] = round(ready - started, 2)
            result["throughput"] = _throughput(tail, backlog.messages, started, decided)
            result["load_average_throughput"] = load_average()
            say(f"  {case.name}: throughput {result['throughput']}")

            maximum = result["throughput"]["source_events_per_second"]
            rate = case.offered_rate or max(20.0, round(maximum / 2))
            result["latency"] = await _latency(bootstrap, deployment, case, rate)
            result["load_average_latency"] = load_average()
            say(f"  {case.name}: latency {result['latency']}")

            rss_at_end = [rss_mb(w.pid) for w in deployment.workers]
            result["rss_mb"] = _memory(
                rss_at_ready,
                rss_after_backlog,
                rss_at_end,
                case.orders,
                result["latency"]["orders"],
            )
            report = await verify(bootstrap, topics, timeout=120.0)
            result["verified"] = {"ok": report.ok, "violations": len(report.violations)}
            say(f"  {case.name}: rss {result['rss_mb']}, invariants ok={report.ok}")
            if case.restore:
                result["restore"] = await _restore(
                    bootstrap, deployment, supervisor, result["startup_seconds"]
                )
                say(f"  {case.name}: restore {result['restore']}")
    finally:
        stop_workers(deployment)
    result["crash_restarts"] = supervisor.restarts
    result["load_average_end"] = load_average()
    return result


def _throughput(
    tail: CommittedTail, messages: int, started: float, decided: bool
) -> dict[str, Any]:
    first_output = min(a.timestamp for a in tail.arrivals)
    done = max(tail.decided.values())
    seconds = done - first_output
    counts = {topic: 0 for topic in tail.topics}
    for arrival in tail.arrivals:
        counts[arrival.topic] += 1
    inventory_commands, inventory_results, order_events = (counts[t] for t in tail.topics)
    # orders agent: sources + results; inventory agent: commands; notifications and
    # analytics each read every order event.
    agent_inputs = messages + inventory_commands + inventory_results + 2 * order_events
    return {
        "complete": decided,
        "source_messages": messages,
        "agent_inputs": agent_inputs,
        "seconds": round(seconds, 2),
        "wall_seconds_from_start": round(done - started, 2),
        "source_events_per_second": round(messages / seconds),
        "agent_inputs_per_second": round(agent_inputs / seconds),
        "orders_per_second": round(len(tail.decided) / seconds),
    }


async def _latency(
    bootstrap: str, deployment: Deployment, case: Case, rate: float
) -> dict[str, Any]:
    topics = deployment.topics
    per_order = 2.3  # messages per order with the default ratios (stock, dups, malformed)
    orders = max(100, round(rate * case.latency_seconds / per_order))
    profile = LoadProfile(orders=orders, seed=case.seed + LATENCY_SEED_OFFSET)
    expected = {order_id_of(profile, n) for n in range(orders)}
    watched = [
        topics.orders,
        topics.payments,
        topics.inventory_commands,
        topics.inventory_results,
        topics.order_events,
    ]
    tail = CommittedTail(bootstrap, watched, decisions_topic=topics.order_events, expected=expected)
    await tail.start(from_end=True)
    began = time.monotonic()
    sent = await send_load(bootstrap, topics, profile, rate=rate)
    send_seconds = time.monotonic() - began
    decided = await tail.wait_decided(timeout=120.0)
    await tail.stop()
    latencies = trace(tail.arrivals, {topics.orders, topics.payments}, topics.order_events)
    return {
        "offered_rate": rate,
        "achieved_send_rate": round(sent.messages / send_seconds),
        "orders": orders,
        "messages": sent.messages,
        "complete": decided,
        **latencies.summary(),
    }


def _memory(
    at_ready: list[float | None],
    after_backlog: list[float | None],
    at_end: list[float | None],
    backlog_orders: int,
    later_orders: int,
) -> dict[str, Any]:
    """RSS per worker at three points, and a linear projection to 100,000 orders.

    The projection uses the growth per order *after* the backlog (the latency phase),
    when start-up allocations and caches have settled; the growth from ready to the end
    of the backlog is reported too, as the pessimistic slope.
    """

    def slope(before: float | None, after: float | None, orders: int) -> float | None:
        if before is None or after is None or orders <= 0:
            return None
        return (after - before) / orders * 1000

    total = backlog_orders + later_orders
    warm = [slope(a, b, later_orders) for a, b in zip(after_backlog, at_end, strict=True)]
    cold = [slope(a, b, backlog_orders) for a, b in zip(at_ready, after_backlog, strict=True)]
    projected = [
        round(end + max(g, 0.0) * (100_000 - total) / 1000, 1)
        if end is not None and g is not None
        else None
        for end, g in zip(at_end, warm, strict=True)
    ]
    return {
        "at_ready": at_ready,
        "after_backlog": after_backlog,
        "at_end": at_end,
        "orders": total,
        "growth_mb_per_1000_orders_backlog": [round(g, 2) if g is not None else None for g in cold],
        "growth_mb_per_1000_orders_after": [round(g, 2) if g is not None else None for g in warm],
        "extrapolated_100k_orders": projected,
    }


async def _restore(
    bootstrap: str, deployment: Deployment, supervisor: Supervisor, empty_startup: float
) -> dict[str, Any]:
    """Stop the workers, delete their local state, start them again; time until /ready."""
    prefix = f"{group_id(deployment.app_id, APP_VERSION)}-"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        listed = await admin.list_topics()
    finally:
        await admin.close()
    tables = [
        t[len(prefix) : -len("-changelog")]
        for t in listed
        if t.startswith(prefix) and t.endswith("-changelog")
    ]
    assert all(changelog_topic(deployment.app_id, APP_VERSION, t) in listed for t in tables)
    volume = await read_tables(bootstrap, deployment.app_id, APP_VERSION, tables)
    with supervisor.paused():
        stop_workers(deployment)
        for worker in deployment.workers:
            shutil.rmtree(worker.datadir, ignore_errors=True)
        began = time.time()
        for worker in deployment.workers:
            worker.start()
    await supervisor.wait_ready()
    seconds = time.time() - began
    net = max(seconds - empty_startup, 0.1)
    return {
        "tables": sorted(tables),
        "keys": volume.keys,
        "records": volume.records,
        "megabytes": round(volume.bytes / 1e6, 3),
        "seconds_to_ready": round(seconds, 2),
        "seconds_net_of_empty_startup": round(net, 2),
        "keys_per_second": round(volume.keys / net),
        "records_per_second": round(volume.records / net),
        "megabytes_per_second": round(volume.bytes / 1e6 / net, 3),
    }


def stop_workers(deployment: Deployment, timeout: float = 60.0) -> None:
    """SIGTERM every worker at once, then wait for each (SIGKILL after ``timeout``)."""
    for worker in deployment.workers:
        if worker.running and worker.process is not None:
            worker.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for worker in deployment.workers:
        if worker.process is None:
            continue
        try:
            worker.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            worker.kill()
