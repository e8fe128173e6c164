"""Run real worker processes for the demo, the tests, the benchmarks and the chaos runs.

A :class:`Deployment` is one isolated copy of the platform on a broker: its own app id,
topic prefix and work directory. It starts worker subprocesses (each with its own
datadir and web port), waits on their ``/ready`` pages rather than on sleeps, and can
stop, kill -9 and restart them.
"""

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from ecommerce_streams.harness.kafka.ports import free_port
from ecommerce_streams.topic_names import TopicNames


class WorkerFailed(RuntimeError):
    """A worker exited or never became ready; the message ends with its log tail."""


@dataclass
class WorkerProcess:
    """One worker subprocess and where its state, log and web page live."""

    name: str
    env: dict[str, str]
    datadir: Path
    web_port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    retired: bool = False
    """Taken out of the deployment on purpose: not restarted, not expected to be ready."""
    code: Path | None = None
    """Run the code of this source tree (another release's) instead of the installed one."""

    @property
    def url(self) -> str:
        """Base URL of the worker's web server."""
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def pid(self) -> int | None:
        """Process id while running."""
        return self.process.pid if self.process else None

    def start(self) -> None:
        """Launch the worker process (returns at once; see :meth:`wait_ready`)."""
        if self.running:
            return
        self.datadir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ecommerce_streams.cli", "worker"],
            env=self.env,
            cwd=self.code,  # ``-m`` imports from the working directory first
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    def terminate(self, timeout: float = 60.0) -> int | None:
        """SIGTERM and wait for a clean exit (SIGKILL after ``timeout``)."""
        if not self.running:
            return self.process.returncode if self.process else None
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return self.kill()

    def kill(self) -> int | None:
        """SIGKILL the worker, as a crash would."""
        if not self.running:
            return self.process.returncode if self.process else None
        assert self.process is not None
        self.process.kill()
        return self.process.wait(30)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the worker's log."""
        if not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    async def is_ready(self, session: aiohttp.ClientSession) -> bool:
        """Whether the worker's /ready page answers 200."""
        try:
            async with session.get(f"{self.url}/ready") as response:
                return response.status == 200
        except (TimeoutError, aiohttp.ClientError):
            return False

    async def wait_ready(self, timeout: float = 120.0) -> None:
        """Wait until /ready answers 200; raise WorkerFailed if the process dies first."""
        deadline = time.monotonic() + timeout
        client_timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=client_timeout) as session:
            while time.monotonic() < deadline:
                if not self.running:
                    raise WorkerFailed(f"worker {self.name} exited:\n{self.log_tail()}")
                if await self.is_ready(session):
                    return
                await asyncio.sleep(0.25)
        raise WorkerFailed(f"worker {self.name} not ready after {timeout}s:\n{self.log_tail()}")


@dataclass
class Deployment:
    """An isolated copy of the platform (app id, topics, workers) on one broker."""

    bootstrap: str
    workdir: Path
    partitions: int = 4
    app_id: str = field(default_factory=lambda: f"shop-{uuid.uuid4().hex[:8]}")
    processing_guarantee: str = "exactly_once"
    extra_env: Mapping[str, str] = field(default_factory=dict)
    workers: list[WorkerProcess] = field(default_factory=list)

    @property
    def topic_prefix(self) -> str:
        """Prefix of this deployment's topics."""
        return f"{self.app_id}."

    @property
    def topics(self) -> TopicNames:
        """This deployment's topic names."""
        return TopicNames(self.topic_prefix)

    def env(self, **overrides: str) -> dict[str, str]:
        """Environment of a worker or tool of this deployment."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ES_")}
        env.update(
            ES_BROKER=self.bootstrap,
            ES_APP_ID=self.app_id,
            ES_TOPIC_PREFIX=self.topic_prefix,
            ES_PARTITIONS=str(self.partitions),
            ES_PROCESSING_GUARANTEE=self.processing_guarantee,
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        env.update(overrides)
        return env

    def add_worker(self) -> WorkerProcess:
        """Declare (not start) one more worker with its own datadir and web port."""
        index = len(self.workers)
        port = free_port()
        datadir = self.workdir / f"worker-{index}"
        worker = WorkerProcess(
            name=f"worker-{index}",
            env=self.env(ES_DATADIR=str(datadir), ES_WEB_PORT=str(port)),
            datadir=datadir,
            web_port=port,
            log_path=self.workdir / f"worker-{index}.log",
        )
        self.workers.append(worker)
        return worker

    async def start_workers(self, count: int, timeout: float = 180.0) -> list[WorkerProcess]:
        """Start ``count`` new workers and wait until every running worker is ready."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        started = [self.add_worker() for _ in range(count)]
        for worker in started:
            worker.start()
        await self.wait_ready(timeout)
        return started

    async def wait_ready(self, timeout: float = 180.0) -> None:
        """Wait until every running worker answers /ready."""
        await asyncio.gather(*(w.wait_ready(timeout) for w in self.workers if w.running))

    async def restart(self, worker: WorkerProcess, timeout: float = 180.0) -> None:
        """Start a stopped or killed worker again and wait for the whole group."""
        worker.start()
        await self.wait_ready(timeout)

    def stop(self) -> None:
        """Stop every worker (SIGTERM, then SIGKILL)."""
        for worker in self.workers:
            worker.terminate()

    def serving(self) -> list[WorkerProcess]:
        """Workers that were started and not retired: each should be ready."""
        return [w for w in self.workers if w.process is not None and not w.retired]

    def crashed(self) -> list[WorkerProcess]:
        """Workers that were started and exited on their own (not retired on purpose)."""
        return [
            w for w in self.workers if w.process is not None and not w.running and not w.retired
        ]
