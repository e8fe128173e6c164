"""Keep a deployment's workers running, as an orchestrator would, and count the restarts.

Under exactly-once a worker crashes rather than continue on a broken transaction, and
Faust itself can crash a worker that rebalances while restoring its tables
(``ConsistencyError``: persisted changelog offset above a highwater of -1). The
benchmark and the chaos runner must survive both and say how often they happened; a
worker stopped on purpose (paused, or retired by a fault) is left alone.
"""

import asyncio
import contextlib
import time
from collections.abc import Iterator

import aiohttp

from ecommerce_streams.harness.deployment import Deployment, WorkerFailed

POLL_SECONDS = 0.25


class Supervisor:
    """Restarts crashed workers of one deployment while it watches."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.restarts = 0
        self._paused = False
        self._task: asyncio.Task[None] | None = None

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Leave stopped workers alone while the benchmark stops them on purpose."""
        self._paused = True
        try:
            yield
        finally:
            self._paused = False

    def restart_crashed(self) -> None:
        """Start again every worker that exited on its own."""
        if self._paused:
            return
        for worker in self.deployment.crashed():
            worker.start()
            self.restarts += 1

    async def wait_ready(self, timeout: float = 600.0) -> None:
        """Wait until every worker answers ``/ready``, restarting crashed ones meanwhile."""
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while time.monotonic() < deadline:
                self.restart_crashed()
                if all([await w.is_ready(session) for w in self.deployment.workers]):
                    return
                await asyncio.sleep(POLL_SECONDS)
        raise WorkerFailed(f"workers not ready after {timeout}s ({self.restarts} restarts)")

    def __enter__(self) -> "Supervisor":
        self._task = asyncio.get_running_loop().create_task(self._watch())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _watch(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                self.restart_crashed()
                await asyncio.sleep(POLL_SECONDS)
