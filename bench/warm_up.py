"""A broker warmed up before anything is measured: its JIT compiler done with the saga's paths.

A broker the bench has just started compiles its hot code for the first minutes: in the
first case's 50 msg/s phase its C2 compiler thread took 27-39 % of a core (a Flight
Recorder profile, bench/results/broker-warm-up-20261203), on a machine of two cores
shared with the worker. A broker in production has long finished. So, before the
measured cases, an uncounted exactly-once case runs the saga through the broker (a
backlog, then both latency phases: big transactions and many small ones), and the bench
waits until the compiler has been quiet for a while.
"""

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.pipeline import Case, run_case
from bench.process_usage import JIT_THREADS, threads_cpu_seconds

QUIET_JIT_SHARE = 0.05
"""A compiler using less than this share of a core over a window counts as quiet."""
QUIET_WINDOW_SECONDS = 5.0
QUIET_TIMEOUT_SECONDS = 60.0


def warm_up_case(orders: int, latency_seconds: float, partitions: int, env: dict[str, str]) -> Case:
    """The uncounted case: exactly-once, one worker, the plan's backlog and phases."""
    return Case(
        guarantee="exactly_once",
        workers=1,
        orders=orders,
        latency_seconds=latency_seconds,
        partitions=partitions,
        extra_env=env,
        restore=False,
    )


async def warm_up_broker(
    bootstrap: str,
    broker_pid: int,
    workdir: Path,
    case: Case,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Run ``case`` uncounted, then wait for the broker's JIT compiler to go quiet."""
    began = time.monotonic()
    jit_before = threads_cpu_seconds(broker_pid, JIT_THREADS)
    await run_case(bootstrap, workdir, case, lambda _: None, broker_pid)
    ran = time.monotonic() - began
    quiet, share = await wait_for_quiet_compiler(broker_pid)
    jit_after = threads_cpu_seconds(broker_pid, JIT_THREADS)
    figures = {
        "orders": case.orders,
        "case_seconds": round(ran, 1),
        "seconds": round(time.monotonic() - began, 1),
        "jit_cpu_seconds": _spent(jit_before, jit_after),
        "jit_share_last_window": share,
        "quiet": quiet,
    }
    say(f"broker warm-up: {figures}")
    return figures


async def wait_for_quiet_compiler(
    broker_pid: int,
    *,
    window: float = QUIET_WINDOW_SECONDS,
    timeout: float = QUIET_TIMEOUT_SECONDS,
    quiet_share: float = QUIET_JIT_SHARE,
) -> tuple[bool, float | None]:
    """Wait until the JIT threads used under ``quiet_share`` of a core over one ``window``.

    Returns whether they did before ``timeout``, and their share over the last window.
    """
    deadline = time.monotonic() + timeout
    share: float | None = None
    while True:
        before = threads_cpu_seconds(broker_pid, JIT_THREADS)
        await asyncio.sleep(window)
        after = threads_cpu_seconds(broker_pid, JIT_THREADS)
        if before is None or after is None:
            return False, None
        share = round((after - before) / window, 3)
        if share < quiet_share:
            return True, share
        if time.monotonic() >= deadline:
            return False, share


def _spent(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else round(after - before, 2)
