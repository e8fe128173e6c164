"""A deployment whose workers start once per test module: starting workers is the slow part."""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from ecommerce_streams.harness import Deployment, WorkerProcess
from ecommerce_streams.topic_setup import ensure_topics


@asynccontextmanager
async def running(
    broker: str, workdir: Path, workers: int, env: Mapping[str, str] | None = None
) -> AsyncIterator[tuple[Deployment, list[WorkerProcess]]]:
    """Create an isolated deployment's topics, start ``workers`` ready workers, stop them after."""
    deployment = Deployment(bootstrap=broker, workdir=workdir, extra_env=dict(env or {}))
    await ensure_topics(broker, deployment.topics, partitions=deployment.partitions)
    try:
        yield deployment, await deployment.start_workers(workers)
    finally:
        deployment.stop()
