"""The soak run: many orders through one exactly-once worker, its memory, then a kill -9.

One worker on a fresh deployment takes a backlog of ``orders`` orders (100,000 by
default), sent at once as the throughput case sends its own. Once every order is
decided (read_committed) and every agent has caught up, the worker's VmRSS is read:
measured, not extrapolated. Then the worker is killed with SIGKILL, as a crash would,
and started again on the same datadir; the seconds from the kill to ``/ready`` and to
the group having caught up again are the recovery figures.

RSS is also sampled while the backlog drains, to show whether it levels off.
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.lag import marker_slack, wait_caught_up
from bench.machine import load_average
from bench.pipeline import APP_VERSION, agent_inputs, stop_workers
from bench.process_usage import cpu_ms_per, cpu_seconds, rss_mb
from bench.restore_log import restore_span
from bench.tailing import CommittedTail
from ecommerce_streams.harness.deployment import Deployment, WorkerProcess
from ecommerce_streams.harness.load import LoadProfile, LoadSummary, order_id_of, send_load
from ecommerce_streams.harness.supervision import Supervisor
from ecommerce_streams.operations.consumer_group import group_id
from ecommerce_streams.operations.topic_setup import ensure_topics

DEFAULT_ORDERS = 100_000
SAMPLE_SECONDS = 30.0
"""How often RSS and progress are sampled while the backlog drains."""
STALL_SECONDS = 600.0
"""Give up when no order has been decided for this long."""
CATCH_UP_SECONDS = 900.0

Say = Callable[[str], None]


@dataclass(frozen=True)
class Soak:
    """What one soak run does: orders through one exactly-once worker."""

    orders: int = DEFAULT_ORDERS
    partitions: int = 4
    seed: int = 1
    #: Settings the worker runs with (``NAME``, ``VALUE``), e.g. a speed-up switched off.
    env: tuple[tuple[str, str], ...] = ()


async def run_soak(
    bootstrap: str, workdir: Path, soak: Soak, say: Say = print, broker_pid: int | None = None
) -> dict[str, Any]:
    """Drain ``soak.orders`` orders with one worker, read its RSS, kill -9 it and time recovery."""
    deployment = Deployment(
        bootstrap=bootstrap,
        workdir=workdir,
        partitions=soak.partitions,
        processing_guarantee="exactly_once",
        extra_env=dict(soak.env),
    )
    topics = deployment.topics
    await ensure_topics(bootstrap, topics, partitions=soak.partitions)
    profile = LoadProfile(orders=soak.orders, seed=soak.seed)
    expected = (order_id_of(profile, n) for n in range(soak.orders))
    # Only which orders are decided is kept: 100k orders' records would take GBs here.
    tail = CommittedTail(
        bootstrap,
        [topics.order_events],
        decisions_topic=topics.order_events,
        expected=expected,
        keep=False,
    )
    result: dict[str, Any] = {
        "guarantee": "exactly_once",
        "workers": 1,
        "orders": soak.orders,
        "partitions": soak.partitions,
        "seed": soak.seed,
    }
    supervisor = Supervisor(deployment)
    sending: asyncio.Task[LoadSummary] | None = None
    await tail.start(from_end=False)
    try:
        with supervisor:
            worker = deployment.add_worker()
            worker.start()
            await supervisor.wait_ready()
            ready = time.time()
            pid = worker.pid
            rss_at_ready = rss_mb(pid)
            cpu_before = (cpu_seconds(pid), cpu_seconds(broker_pid))
            sending = asyncio.create_task(send_load(bootstrap, topics, profile))
            samples = await _drain(tail, worker, sending, ready, say)
            backlog = await sending
            decided_at = max(tail.decided.values(), default=None)
            drained_at = await _caught_up(deployment)
            cpu_after = (
                cpu_seconds(worker.pid) if worker.pid == pid else None,
                cpu_seconds(broker_pid),
            )
            rss_at_end = rss_mb(worker.pid)
            messages = backlog.messages
            result.update(
                messages=messages,
                complete=tail.undecided == 0,
                undecided=tail.undecided,
                seconds_to_all_decided=_since(ready, decided_at),
                seconds_to_drained=_since(ready, drained_at),
                source_events_per_second=_per_second(messages, ready, drained_at or decided_at),
                worker_cpu_ms_per_source_event=cpu_ms_per(cpu_before[0], cpu_after[0], messages),
                broker_cpu_ms_per_source_event=cpu_ms_per(cpu_before[1], cpu_after[1], messages),
                load_average_drain=load_average(),
            )
            say(f"soak: {len(tail.decided):,} orders decided, RSS {rss_at_end} MB")
            result["recovery"] = await _kill_and_recover(supervisor, worker, say)
            result["rss_mb"] = {
                "at_ready": rss_at_ready,
                "at_end": rss_at_end,
                "after_recovery": rss_mb(worker.pid),
                "samples": samples,
            }
    finally:
        if sending is not None and not sending.done():
            sending.cancel()
        await tail.stop()
        stop_workers(deployment)
    result["crash_restarts"] = supervisor.restarts
    return result


async def _drain(
    tail: CommittedTail,
    worker: WorkerProcess,
    sending: asyncio.Task[LoadSummary],
    ready: float,
    say: Say,
) -> list[dict[str, float | int | None]]:
    """Wait until every order is decided, sampling RSS; raise if sending fails or work stalls."""
    samples: list[dict[str, float | int | None]] = []
    last_count, last_progress = 0, time.monotonic()
    while True:
        done = await tail.wait_decided(timeout=SAMPLE_SECONDS)
        if sending.done() and (failure := sending.exception()) is not None:
            raise failure
        decided = len(tail.decided)
        samples.append(
            {
                "seconds": round(time.time() - ready, 1),
                "orders_decided": decided,
                "rss_mb": rss_mb(worker.pid),
            }
        )
        say(f"soak: {decided:,} decided, {tail.undecided:,} to go, RSS {samples[-1]['rss_mb']} MB")
        if done:
            return samples
        if decided > last_count:
            last_count, last_progress = decided, time.monotonic()
        elif time.monotonic() - last_progress > STALL_SECONDS:
            raise TimeoutError(f"no order decided for {STALL_SECONDS:.0f} s; {decided:,} decided")


async def _caught_up(deployment: Deployment) -> float | None:
    """When the deployment's agents caught up with every input (None on timeout)."""
    return await wait_caught_up(
        deployment.bootstrap,
        group_id(deployment.app_id, APP_VERSION),
        agent_inputs(deployment),
        marker_slack=marker_slack(deployment.partitions),
        timeout=CATCH_UP_SECONDS,
    )


async def _kill_and_recover(
    supervisor: Supervisor, worker: WorkerProcess, say: Say
) -> dict[str, Any]:
    """SIGKILL the worker, start it on the same datadir; seconds to /ready and to caught up.

    Caught up is polled from the moment the worker is ready, so it cannot be met by the
    offsets of the dead worker: it is when the group's offsets settled at the topics'
    ends after the restart.
    """
    log_size = worker.log_path.stat().st_size
    with supervisor.paused():
        killed_at = time.time()
        exit_code = worker.kill()
        worker.start()
    await supervisor.wait_ready()
    ready_at = time.time()
    settled = await _caught_up(supervisor.deployment)
    reading = restore_span(worker.log_path, log_size)
    figures = {
        "exit_code": exit_code,
        "seconds_to_ready": round(ready_at - killed_at, 2),
        "seconds_to_caught_up": (
            round(max(settled, ready_at) - killed_at, 2) if settled is not None else None
        ),
        "seconds_reading_changelogs": round(reading, 2) if reading else None,
    }
    say(f"soak: recovery {figures}")
    return figures


def _since(start: float, end: float | None) -> float | None:
    """Seconds from ``start`` to ``end``, rounded; None when ``end`` never came."""
    return round(end - start, 1) if end is not None else None


def _per_second(amount: int, start: float, end: float | None) -> int | None:
    """``amount`` per second between ``start`` and ``end`` (None without a span)."""
    return round(amount / (end - start)) if end is not None and end > start else None
