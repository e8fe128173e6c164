"""What an operator does from outside a deployment: run the CLI, read views, watch offsets."""

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer, TopicPartition

from ecommerce_streams.harness.deployment import Deployment
from ecommerce_streams.operations.consumer_group import partitions_of, wait_caught_up
from ecommerce_streams.operations.replay import consumed_topics


async def run_cli(env: dict[str, str], *args: str, timeout: float = 240.0) -> tuple[int, str]:
    """Run ``ecommerce-streams ARGS`` in a subprocess; return its exit code and output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ecommerce_streams.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout)
    return process.returncode or 0, output.decode(errors="replace")


def run_cli_blocking(
    env: dict[str, str], *args: str, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run ``ecommerce-streams ARGS`` in a subprocess and wait: its exit code and outputs."""
    return subprocess.run(
        [sys.executable, "-m", "ecommerce_streams.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


async def processed_everything(deployment: Deployment, timeout: float = 300.0) -> None:
    """Wait until the live group has consumed every record of every topic it reads."""
    await wait_caught_up(
        deployment.bootstrap, deployment.app_id, consumed_topics(deployment.topics), timeout=timeout
    )


async def partition_ends(bootstrap: str, topics: Sequence[str]) -> dict[TopicPartition, int]:
    """The end offset of every partition of the topics."""
    partitions = await partitions_of(bootstrap, topics)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def end_offsets(bootstrap: str, topics: Sequence[str]) -> dict[str, int]:
    """Per topic, the sum of its partitions' end offsets (records and transaction markers)."""
    totals = dict.fromkeys(topics, 0)
    for tp, end in (await partition_ends(bootstrap, topics)).items():
        totals[tp.topic] += end
    return totals


async def view(url: str) -> tuple[int, Any]:
    """GET a worker's JSON view: status and body."""
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
        return response.status, await response.json(content_type=None)


async def poll_view(
    url: str, until: Callable[[int, Any], bool], *, timeout: float = 60.0
) -> tuple[int, Any]:
    """GET a view until ``until(status, body)`` holds; AssertionError with the last answer."""
    deadline = time.monotonic() + timeout
    last: tuple[int, Any] = (0, None)
    while time.monotonic() < deadline:
        try:
            last = await view(url)
        except (aiohttp.ClientError, TimeoutError) as error:
            last = (0, repr(error))
        if until(*last):
            return last
        await asyncio.sleep(0.25)
    raise AssertionError(f"{url} never satisfied the condition; last answer {last}")
