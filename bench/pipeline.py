"""One benchmark case: the full saga pipeline with N workers under one processing guarantee.

The case runs on a fresh deployment (own app id and topics) and measures, in order:

1. **Start-up**: workers started on empty topics and tables until every ``/ready``.
2. **Throughput**: a backlog of orders is sent at once, and the workers drain it. The
   headline rate is source messages / (first derived record sent -> last order's
   terminal event received by a read_committed consumer), so it counts only inputs
   whose outputs are committed; the *drained* rate runs until every agent has caught
   up (``lag.py``), which includes the work that follows the decisions. CPU seconds
   of the workers (and of the broker when it is ours) until then give the CPU cost.
   The workers' transaction commits over the same span (their ``/metrics``) give the
   commits per second.
3. **Latency**, twice: a new stream of orders offered at 50 msg/s, then another at half
   the drained rate; one-hop and full-saga latencies from the records linked by id
   (``latency.py``).
4. **Memory**: every worker's VmRSS when ready, after the backlog and at the end.
5. **Correctness**: the verifier's four invariants over everything sent.
6. **Restore**: workers stopped, their datadirs deleted, started again; seconds until
   ``/ready``, against the changelogs' volume.

A :class:`~ecommerce_streams.harness.supervision.Supervisor` restarts workers that crash
meanwhile; the count is part of the result.
"""

import json
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.lag import marker_slack, wait_caught_up
from bench.latency import trace
from bench.machine import load_average
from bench.own_cores import give_workers_own_cores, release_cores
from bench.process_usage import (
    core_shares,
    cpu_ms_per,
    cpu_seconds,
    read_usage,
    rss_mb,
    total_cpu_seconds,
)
from bench.restore_log import restore_span
from bench.routing import rule_documents
from bench.tailing import CommittedTail
from bench.worker_metrics import (
    GC_PAUSE,
    LOOP_LAG,
    MARKERS_SEEN,
    TRANSACTIONS_COMMITTED,
    histogram_mean_ms,
    increase,
    mean_commit_steps_ms,
    read_commit_rounds,
    read_commit_steps,
    read_counter,
    read_histogram,
)
from ecommerce_streams.harness.deployment import Deployment
from ecommerce_streams.harness.load import LoadProfile, order_id_of, send_load
from ecommerce_streams.harness.routing_examples import RoutingExamples
from ecommerce_streams.harness.supervision import Supervisor
from ecommerce_streams.harness.verify import verify
from ecommerce_streams.harness.verify.reading import TopicReader
from ecommerce_streams.kafka_admin import admin_client
from ecommerce_streams.operations.changelogs import (
    changelog_topic,
    read_tables,
    tables_with_changelogs,
)
from ecommerce_streams.operations.consumer_group import group_id
from ecommerce_streams.operations.topic_setup import ensure_topics
from ecommerce_streams.routing.actions import open_catalogues
from ecommerce_streams.topic_names import TopicNames

APP_VERSION = 1
LATENCY_SEED_OFFSET = 1000
FIXED_RATE = 50.0
"""The fixed offered rate of the first latency phase (msg/s), the issue's quiet load."""
MIN_RATE = 20.0
MESSAGES_PER_ORDER = 2.3
"""Source messages per order with the default load ratios (payments, dups, malformed)."""

Say = Callable[[str], None]


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
    """Rate of the second latency phase; None: half the drained rate of this case."""
    fixed_rate: float = FIXED_RATE
    extra_env: dict[str, str] = field(default_factory=dict)
    restore: bool = True
    routing_rules: int | None = None
    """See :attr:`bench.plan.Plan.routing_rules`."""
    own_cores: bool = False
    """See :attr:`bench.plan.Plan.own_cores`."""

    @property
    def name(self) -> str:
        """Short label, e.g. ``exactly_once x2``."""
        return f"{self.guarantee} x{self.workers}"


async def run_case(
    bootstrap: str,
    workdir: Path,
    case: Case,
    say: Say = print,
    broker_pid: int | None = None,
) -> dict[str, Any]:
    """Run the case on a fresh deployment and return its figures (see the module doc)."""
    routing_off = {"ES_ROUTING": "false"} if case.routing_rules == 0 else {}
    deployment = Deployment(
        bootstrap=bootstrap,
        workdir=workdir,
        partitions=case.partitions,
        processing_guarantee=case.guarantee,
        extra_env={**case.extra_env, **routing_off},
    )
    result: dict[str, Any] = {
        "case": case.name,
        "guarantee": case.guarantee,
        "workers": case.workers,
        "orders": case.orders,
        "partitions": case.partitions,
        "env": dict(case.extra_env),
        "routing_rules": case.routing_rules,
    }
    replication = int(case.extra_env.get("ES_REPLICATION", "1"))
    await ensure_topics(
        bootstrap, deployment.topics, partitions=case.partitions, replication=replication
    )
    if case.routing_rules != 0:
        await install_rules(bootstrap, deployment.topics, case)
    supervisor = Supervisor(deployment)
    try:
        with supervisor:
            await _drain_backlog(bootstrap, deployment, supervisor, case, result, broker_pid)
            say(f"  {case.name}: throughput {result['throughput']}")
            backlog = result["throughput"]["source_messages"]
            result["fan_out_backlog"] = await _fan_out(bootstrap, deployment, backlog)
            result["latency"] = {}
            for index, (name, rate) in enumerate(latency_rates(case, result["throughput"])):
                seed = case.seed + LATENCY_SEED_OFFSET + index
                result["latency"][name] = await _latency(
                    bootstrap, deployment, case, rate, seed, broker_pid
                )
                say(f"  {case.name}: latency {name} {result['latency'][name]}")
            result["load_average_latency"] = load_average()
            phases = result["latency"].values()
            at_ready, after_backlog = result.pop("_rss")
            at_end = [rss_mb(w.pid) for w in deployment.workers]
            later_orders = sum(phase["orders"] for phase in phases)
            result["rss_mb"] = _memory(at_ready, after_backlog, at_end, case.orders, later_orders)
            report = await verify(bootstrap, deployment.topics, timeout=120.0)
            result["verified"] = {"ok": report.ok, "violations": len(report.violations)}
            sources = result["throughput"]["source_messages"]
            sources += sum(phase["messages"] for phase in phases)
            result["fan_out"] = await _fan_out(bootstrap, deployment, sources)
            say(f"  {case.name}: rss {result['rss_mb']}, invariants ok={report.ok}")
            if case.restore:
                empty_startup = result["startup_seconds"]
                result["restore"] = await _restore(bootstrap, supervisor, empty_startup)
                say(f"  {case.name}: restore {result['restore']}")
    finally:
        stop_workers(deployment)
        if case.own_cores:
            release_cores(broker_pid)
    result["crash_restarts"] = supervisor.restarts
    result["load_average_end"] = load_average()
    return result


async def install_rules(bootstrap: str, names: TopicNames, case: Case) -> None:
    """The shipped routing examples, and rules up to ``case.routing_rules`` that match little."""
    async with open_catalogues(bootstrap, names, partitions=case.partitions) as catalogues:
        await RoutingExamples.of(names).install(catalogues)
        extra = max(0, (case.routing_rules or 1) - 1)
        for index, pattern in enumerate(rule_documents(extra)):
            await catalogues.put_rule(f"bench-{index:03d}", {"EventPattern": json.dumps(pattern)})


def latency_rates(case: Case, throughput: dict[str, Any]) -> list[tuple[str, float]]:
    """The latency phases' names and offered rates: the fixed rate, then half the maximum."""
    maximum = (
        throughput["source_events_per_second_drained"] or throughput["source_events_per_second"]
    )
    half = case.offered_rate or max(MIN_RATE, round(maximum / 2))
    return [("fixed", case.fixed_rate), ("half_max", half)]


async def _drain_backlog(
    bootstrap: str,
    deployment: Deployment,
    supervisor: Supervisor,
    case: Case,
    result: dict[str, Any],
    broker_pid: int | None,
) -> None:
    """Start the workers, send the backlog, time until every order is decided.

    The workers are ready (one stable group) before the first order arrives, so the
    figures are those of a running deployment, not of its start-up rebalances. The
    backlog goes out far faster than the workers drain it.
    """
    topics = deployment.topics
    profile = LoadProfile(orders=case.orders, seed=case.seed)
    expected = {order_id_of(profile, n) for n in range(case.orders)}
    outputs = [topics.inventory_commands, topics.inventory_results, topics.order_events]
    tail = CommittedTail(bootstrap, outputs, decisions_topic=topics.order_events, expected=expected)
    await tail.start(from_end=False)
    try:
        started = time.time()
        for _ in range(case.workers):
            deployment.add_worker().start()
        await supervisor.wait_ready()
        ready = time.time()
        pids = [w.pid for w in deployment.workers]
        if case.own_cores:
            running = [pid for pid in pids if pid is not None]
            result["own_cores"] = give_workers_own_cores(running, broker_pid)
        rss_at_ready = [rss_mb(pid) for pid in pids]
        urls = [w.url for w in deployment.workers]
        cpu_before = (total_cpu_seconds(pids), cpu_seconds(broker_pid))
        commits_before = await read_counter(urls, TRANSACTIONS_COMMITTED)
        rounds_before = await read_commit_rounds(urls)
        steps_before = await read_commit_steps(urls)
        backlog = await send_load(bootstrap, topics, profile)
        decided = await tail.wait_decided(timeout=max(300.0, case.orders / 5))
        group = group_id(deployment.app_id, APP_VERSION)
        drained_at = await wait_caught_up(
            bootstrap, group, agent_inputs(deployment), marker_slack=marker_slack(case.partitions)
        )
        cpu_after = (total_cpu_seconds(pids), cpu_seconds(broker_pid))
        commits_after = await read_counter(urls, TRANSACTIONS_COMMITTED)
        rounds_after = await read_commit_rounds(urls)
        steps_after = await read_commit_steps(urls)
    finally:
        await tail.stop()
    result["startup_seconds"] = round(ready - started, 2)
    result["throughput"] = {
        **_throughput(tail, backlog.messages, started, decided, drained_at),
        **_cpu(cpu_before, cpu_after, backlog.messages, case.workers, ready, drained_at),
        **_commits(increase(commits_before, commits_after), backlog.messages, ready, drained_at),
        "commit_round_ms_mean": histogram_mean_ms(rounds_before, rounds_after),
        "commit_steps_ms_mean": mean_commit_steps_ms(steps_before, steps_after),
    }
    result["load_average_throughput"] = load_average()
    result["_rss"] = [rss_at_ready, [rss_mb(w.pid) for w in deployment.workers]]


def agent_inputs(deployment: Deployment) -> list[str]:
    """Every topic an agent consumes."""
    topics = deployment.topics
    derived = [topics.inventory_commands, topics.inventory_results, topics.order_events]
    return [*topics.sources(), *derived]


def _throughput(
    tail: CommittedTail, messages: int, started: float, decided: bool, drained_at: float | None
) -> dict[str, Any]:
    """Rates over first output -> last decision (headline) and -> every agent caught up."""
    first_output = min(a.timestamp for a in tail.arrivals)
    done = max(tail.decided.values())
    seconds = done - first_output
    drained = drained_at - first_output if drained_at is not None else None
    counts = dict.fromkeys(tail.topics, 0)
    for arrival in tail.arrivals:
        counts[arrival.topic] += 1
    inventory_commands, inventory_results, order_events = (counts[t] for t in tail.topics)
    # orders agent: sources + results; inventory agent: commands; order-outcomes agent:
    # every order event (for its notifications and analytics stages).
    agent_inputs = messages + inventory_commands + inventory_results + order_events
    return {
        "complete": decided,
        "source_messages": messages,
        "agent_inputs": agent_inputs,
        "seconds": round(seconds, 2),
        "wall_seconds_from_start": round(done - started, 2),
        "source_events_per_second": round(messages / seconds),
        "agent_inputs_per_second": round(agent_inputs / seconds),
        "orders_per_second": round(len(tail.decided) / seconds),
        "drained_seconds": round(drained, 2) if drained else None,
        "source_events_per_second_drained": round(messages / drained) if drained else None,
    }


def _cpu(
    before: tuple[float | None, float | None],
    after: tuple[float | None, float | None],
    messages: int,
    workers: int,
    ready: float,
    drained_at: float | None,
) -> dict[str, Any]:
    """CPU per source event of the workers (and of the broker), and how busy the workers were.

    Counted from ready until every agent caught up, so the work that follows a decision
    (stock commits, notifications, analytics) is included.
    """
    figures: dict[str, Any] = {}
    wall = (drained_at or time.time()) - ready
    (worker_before, broker_before), (worker_after, broker_after) = before, after
    if worker_before is not None and worker_after is not None:
        used = worker_after - worker_before
        figures["worker_cpu_ms_per_source_event"] = cpu_ms_per(
            worker_before, worker_after, messages
        )
        figures["worker_cpu_utilisation"] = round(used / wall / workers, 2) if wall > 0 else None
    if broker_before is not None and broker_after is not None:
        figures["broker_cpu_ms_per_source_event"] = cpu_ms_per(
            broker_before, broker_after, messages
        )
    return figures


def _commits(
    committed: float | None, messages: int, ready: float, drained_at: float | None
) -> dict[str, Any]:
    """Transactions the workers committed from ready until every agent caught up, per second.

    The same span as the CPU figures. At-least-once workers commit no transactions (0).
    """
    wall = (drained_at or time.time()) - ready
    if committed is None or wall <= 0:
        return {"transactions_committed": None, "commits_per_second": None}
    return {
        "transactions_committed": round(committed),
        "commits_per_second": _rate(committed, wall, 1),
        "source_events_per_commit": round(messages / committed, 1) if committed else None,
    }


async def _latency(
    bootstrap: str,
    deployment: Deployment,
    case: Case,
    rate: float,
    seed: int,
    broker_pid: int | None,
) -> dict[str, Any]:
    """Offer a new stream at ``rate`` messages/s; time each input's first hop and each saga.

    The tail watches the sources and every topic a source event's derived records go to,
    and keeps reading until the agents have caught up, so late first hops (a refund for
    a payment after its order ended) are seen too.
    """
    topics = deployment.topics
    orders = max(100, round(rate * case.latency_seconds / MESSAGES_PER_ORDER))
    profile = LoadProfile(orders=orders, seed=seed)
    expected = {order_id_of(profile, n) for n in range(orders)}
    watched = [
        *topics.sources(),
        topics.inventory_commands,
        topics.inventory_results,
        topics.order_events,
        topics.shipments,
    ]
    tail = CommittedTail(bootstrap, watched, decisions_topic=topics.order_events, expected=expected)
    await tail.start(from_end=True)
    urls = [worker.url for worker in deployment.workers]
    try:
        rounds_before = await read_commit_rounds(urls)
        steps_before = await read_commit_steps(urls)
        lag_before = await read_histogram(urls, LOOP_LAG)
        markers_before = await read_histogram(urls, MARKERS_SEEN)
        full_gc_before = await read_histogram(urls, GC_PAUSE, generation="2")
        pids = [worker.pid for worker in deployment.workers]
        commits_before = await read_counter(urls, TRANSACTIONS_COMMITTED)
        usage_before = read_usage(pids, broker_pid)
        began = time.monotonic()
        sent = await send_load(bootstrap, topics, profile, rate=rate)
        send_seconds = time.monotonic() - began
        decided = await tail.wait_decided(timeout=120.0)
        group = group_id(deployment.app_id, APP_VERSION)
        await wait_caught_up(
            bootstrap,
            group,
            agent_inputs(deployment),
            marker_slack=marker_slack(case.partitions),
            timeout=60.0,
        )
        usage_after = read_usage(pids, broker_pid)
        commits_after = await read_counter(urls, TRANSACTIONS_COMMITTED)
        rounds_after = await read_commit_rounds(urls)
        steps_after = await read_commit_steps(urls)
        lag_after = await read_histogram(urls, LOOP_LAG)
        markers_after = await read_histogram(urls, MARKERS_SEEN)
        full_gc_after = await read_histogram(urls, GC_PAUSE, generation="2")
    finally:
        await tail.stop()
    latencies = trace(tail.arrivals, set(topics.sources()), topics.order_events)
    return {
        "offered_rate": rate,
        "achieved_send_rate": round(sent.messages / send_seconds),
        "orders": orders,
        "messages": sent.messages,
        "complete": decided,
        "commit_round_ms_mean": histogram_mean_ms(rounds_before, rounds_after),
        "commit_steps_ms_mean": mean_commit_steps_ms(steps_before, steps_after),
        "loop_lag_ms_mean": histogram_mean_ms(lag_before, lag_after),
        "markers_seen_ms_mean": histogram_mean_ms(markers_before, markers_after),
        "full_gc_pauses": increase(full_gc_before[1], full_gc_after[1]),
        "full_gc_pause_ms_mean": histogram_mean_ms(full_gc_before, full_gc_after),
        "core_shares": core_shares(usage_before, usage_after, len(pids)),
        "commits_per_second": _rate(
            increase(commits_before, commits_after), usage_after.at - usage_before.at, 1
        ),
        **latencies.summary(),
        "one_hop_slowest": latencies.slowest_one_hops(),
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


async def _fan_out(bootstrap: str, deployment: Deployment, sources: int) -> dict[str, Any]:
    """Records the platform wrote (outputs and table changelogs) per source message."""
    tables = await _changelog_tables(bootstrap, deployment.app_id)
    written = [
        *deployment.topics.outputs(),
        *(changelog_topic(deployment.app_id, APP_VERSION, table) for table in tables),
    ]
    async with TopicReader(bootstrap, written) as reader:
        await reader.catch_up()
    counts = {topic: len(records) for topic, records in reader.records.items()}
    return {
        "records_per_source_message": round(sum(counts.values()) / sources, 2),
        "records_by_topic": {_short(topic, deployment): count for topic, count in counts.items()},
    }


def _short(topic: str, deployment: Deployment) -> str:
    """A topic's name without the deployment's prefix or app id."""
    app_prefix = f"{group_id(deployment.app_id, APP_VERSION)}-"
    return topic.removeprefix(deployment.topic_prefix).removeprefix(app_prefix)


async def _changelog_tables(bootstrap: str, app_id: str) -> list[str]:
    """Names of the tables whose changelog topics exist for this app id."""
    async with admin_client(bootstrap) as admin:
        listed = await admin.list_topics()
    return tables_with_changelogs(listed, app_id, APP_VERSION)


async def _restore(bootstrap: str, supervisor: Supervisor, empty_startup: float) -> dict[str, Any]:
    """Stop the workers, delete their local state, start them again; time until /ready."""
    deployment = supervisor.deployment
    tables = await _changelog_tables(bootstrap, deployment.app_id)
    volume = await read_tables(bootstrap, deployment.app_id, APP_VERSION, tables)
    with supervisor.paused():
        stop_workers(deployment)
        for worker in deployment.workers:
            shutil.rmtree(worker.datadir, ignore_errors=True)
        log_sizes = [w.log_path.stat().st_size for w in deployment.workers]
        began = time.time()
        for worker in deployment.workers:
            worker.start()
    restarts = supervisor.restarts
    await supervisor.wait_ready()
    seconds = time.time() - began
    spans = [
        restore_span(w.log_path, offset)
        for w, offset in zip(deployment.workers, log_sizes, strict=True)
    ]
    reading = max((span for span in spans if span is not None), default=None)
    return {
        "tables": tables,
        "keys": volume.keys,
        "records": volume.records,
        "megabytes": round(volume.bytes / 1e6, 3),
        "seconds_to_ready": round(seconds, 2),
        "seconds_to_ready_empty_tables": round(empty_startup, 2),
        "seconds_reading_changelogs": round(reading, 2) if reading else None,
        "crash_restarts": supervisor.restarts - restarts,
        "keys_per_second": _rate(volume.keys, reading),
        "records_per_second": _rate(volume.records, reading),
        "megabytes_per_second": _rate(volume.bytes / 1e6, reading, 3),
        "keys_per_second_to_ready": _rate(volume.keys, seconds),
    }


def _rate(amount: float | None, seconds: float | None, digits: int = 0) -> float | None:
    """``amount`` per second, to ``digits`` (None when either is missing or no time passed)."""
    if amount is None or not seconds or seconds < 0:
        return None
    return round(amount / seconds, digits) if digits else round(amount / seconds)


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
