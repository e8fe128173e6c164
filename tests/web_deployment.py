"""A deployment whose workers start once per test module: starting workers is the slow part."""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecommerce_streams.harness.deployment import Deployment, WorkerProcess
from ecommerce_streams.operations.topic_setup import ensure_topics
from tests.web_client import eventually, get_json


@asynccontextmanager
async def running(
    broker: str, workdir: Path, workers: int, env: Mapping[str, str] | None = None
) -> AsyncIterator[tuple[Deployment, list[WorkerProcess]]]:
    """Create an isolated deployment's topics, start ``workers`` ready workers, stop them after.

    Ready here also means the consumer's metadata knows every changelog: until then the
    first event that writes a table crashes a freshly started worker (see
    ``ecommerce_streams.web.health.changelogs_in_metadata``), and ``/ready`` does not wait for it.
    """
    deployment = Deployment(bootstrap=broker, workdir=workdir, extra_env=dict(env or {}))
    await ensure_topics(broker, deployment.topics, partitions=deployment.partitions)
    try:
        started = await deployment.start_workers(workers)

        async def readiness() -> list[tuple[int, str, Any]]:
            return [await get_json(f"{worker.url}/ready") for worker in started]

        await eventually(
            readiness,
            lambda answers: all(
                status == 200 and state["changelogs_in_metadata"] for status, _, state in answers
            ),
        )
        yield deployment, started
    finally:
        deployment.stop()


@dataclass
class TwoWorkers:
    """One deployment with workers ``a`` and ``b`` sharing its partitions."""

    deployment: Deployment
    a: WorkerProcess
    b: WorkerProcess


@asynccontextmanager
async def two_workers(broker: str, workdir: Path) -> AsyncIterator[TwoWorkers]:
    """Two ready workers of one isolated deployment (a module fixture: starting is slow)."""
    async with running(broker, workdir, workers=2) as (deployment, [a, b]):
        yield TwoWorkers(deployment, a, b)
