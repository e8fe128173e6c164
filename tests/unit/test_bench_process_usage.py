"""Unit tests: a latency phase's CPU, read from /proc, as shares of a core."""

import os
import time
from pathlib import Path

from bench.process_usage import (
    UsageReading,
    core_shares,
    read_usage,
    run_queue_wait_seconds,
    threads_cpu_seconds,
)


def test_core_shares_divide_each_partys_cpu_by_the_wall_time_and_the_workers_by_their_number() -> (
    None
):
    before = UsageReading(
        at=10.0, workers=5.0, workers_waiting=1.0, broker=20.0, broker_jit=4.0, bench=3.0
    )
    after = UsageReading(
        at=20.0, workers=13.0, workers_waiting=3.0, broker=29.0, broker_jit=6.5, bench=4.5
    )

    shares = core_shares(before, after, workers=2)

    assert shares == {
        "workers": 0.4,
        "workers_waiting": 0.1,
        "broker": 0.9,
        "broker_jit": 0.25,
        "bench": 0.15,
    }


def test_a_share_nobody_could_read_is_none() -> None:
    before = UsageReading(
        at=1.0, workers=None, workers_waiting=None, broker=None, broker_jit=None, bench=1.0
    )
    after = UsageReading(
        at=2.0, workers=1.0, workers_waiting=0.5, broker=None, broker_jit=None, bench=1.5
    )

    shares = core_shares(before, after, workers=1)

    assert shares == {
        "workers": None,
        "workers_waiting": None,
        "broker": None,
        "broker_jit": None,
        "bench": 0.5,
    }


def test_this_process_has_a_run_queue_wait_and_its_cpu_grows_while_it_works() -> None:
    pid = os.getpid()
    before = read_usage([pid], broker=None)
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:
        pass
    after = read_usage([pid], broker=None)

    assert run_queue_wait_seconds(pid) is not None
    assert after.workers is not None and before.workers is not None
    assert after.workers > before.workers
    assert after.bench is not None and before.bench is not None and after.bench >= before.bench
    assert run_queue_wait_seconds(None) is None


def test_the_cpu_of_named_threads_counts_only_threads_of_that_name() -> None:
    pid = os.getpid()
    name = Path(f"/proc/{pid}/comm").read_text().strip()
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:
        pass

    own = threads_cpu_seconds(pid, (name,))

    assert own is not None and own > 0
    assert threads_cpu_seconds(pid, ("no thread is called this",)) == 0.0
    assert threads_cpu_seconds(None, (name,)) is None
