"""Unit tests: workers pinned to cores of their own, and the check that there are enough."""

import os
import subprocess
import sys

import pytest

from bench.own_cores import ALL_CORES, NotEnoughCores, give_workers_own_cores, pin_process


def test_every_thread_of_a_pinned_process_may_run_only_on_its_cores() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        pin_process(child.pid, [ALL_CORES[-1]])

        threads = os.listdir(f"/proc/{child.pid}/task")
        assert threads
        assert all(os.sched_getaffinity(int(tid)) == {ALL_CORES[-1]} for tid in threads)
    finally:
        child.kill()
        child.wait()


def test_more_workers_than_cores_to_spare_is_refused_before_anything_is_pinned() -> None:
    workers = [os.getpid()] * len(ALL_CORES)

    with pytest.raises(NotEnoughCores, match="one left for the broker and the bench"):
        give_workers_own_cores(workers, broker=None)

    assert tuple(sorted(os.sched_getaffinity(0))) == ALL_CORES
