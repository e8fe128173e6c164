"""The supervisor brings crashed workers back, never retired ones, never hung ones."""

import asyncio
import random
import subprocess
import sys
from pathlib import Path

from ecommerce_streams.harness.chaos import Chaos
from ecommerce_streams.harness.deployment import Deployment, WorkerProcess
from ecommerce_streams.harness.supervision import Supervisor


class CountingWorker(WorkerProcess):
    """A worker whose start only counts; its process is a short-lived stand-in."""

    starts: int = 0

    def start(self) -> None:
        self.starts += 1


def exited() -> subprocess.Popen[bytes]:
    """A process that has already exited on its own."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process


def sleeping() -> subprocess.Popen[bytes]:
    """A process that stays alive (as a hung worker does)."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])


def worker(tmp_path: Path, name: str, process: subprocess.Popen[bytes]) -> CountingWorker:
    """A stand-in worker of the given process."""
    return CountingWorker(
        name=name,
        env={},
        datadir=tmp_path / name,
        web_port=0,
        log_path=tmp_path / f"{name}.log",
        process=process,
    )


async def supervise_once(deployment: Deployment) -> Supervisor:
    """Let the supervisor watch the deployment for a moment."""
    with Supervisor(deployment) as supervisor:
        await asyncio.sleep(0.1)
    return supervisor


async def test_supervisor_restarts_a_crashed_worker_but_not_a_retired_or_hung_one(
    tmp_path: Path,
) -> None:
    crashed = worker(tmp_path, "crashed", exited())
    retired = worker(tmp_path, "retired", exited())
    retired.retired = True
    hung = worker(tmp_path, "hung", sleeping())
    deployment = Deployment(bootstrap="unused:9092", workdir=tmp_path)
    deployment.workers = [crashed, retired, hung]
    try:
        supervisor = await supervise_once(deployment)
    finally:
        assert hung.process is not None
        hung.process.kill()
        hung.process.wait()
    assert crashed.starts >= 1
    assert retired.starts == 0
    assert hung.starts == 0
    assert supervisor.restarts == crashed.starts
    assert deployment.serving() == [crashed, hung]


async def test_removing_a_worker_leaves_one_that_no_other_fault_may_stop(tmp_path: Path) -> None:
    # remove-before-ready holds the worker it added and stops it a moment later: the
    # other worker must not be removed meanwhile, or no worker is left at all.
    first, joining = worker(tmp_path, "first", sleeping()), worker(tmp_path, "joining", sleeping())
    deployment = Deployment(bootstrap="unused:9092", workdir=tmp_path)
    deployment.workers = [first, joining]
    chaos = Chaos(deployment, None, random.Random(1))
    try:
        with chaos._holding(joining):  # as remove_before_ready holds the worker it added
            outcome = await chaos.remove_worker()
        assert outcome == "remove-worker skipped: only one worker runs"
        assert first.running and not first.retired
    finally:
        for stand_in in (first, joining):
            assert stand_in.process is not None
            stand_in.process.kill()
            stand_in.process.wait()
