"""How long a partition is unavailable when its leader dies, on our three-broker cluster.

A fresh three-node cluster; one topic of one partition replicated three ways
(``min.insync.replicas`` 2); one idempotent ``acks=all`` producer sending a record every
``interval`` seconds and waiting for each. The partition's leader is killed (``kill -9``,
or stopped with SIGTERM: a controlled shutdown that hands leadership over first), the
producer goes on. Unavailability is the longest time between two acknowledged records
around the fault, minus the interval; nothing acknowledged may be missing afterwards.
"""

import asyncio
import itertools
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import NewTopic

from ecommerce_streams.harness.kafka.cluster import EmbeddedCluster
from ecommerce_streams.harness.kafka.environment import default_home
from ecommerce_streams.harness.kafka.ports import free_port_block
from ecommerce_streams.kafka_admin import admin_client


async def _leader(bootstrap: str, topic: str) -> int:
    async with admin_client(bootstrap) as admin:
        [described] = await admin.describe_topics([topic])
    return int(described["partitions"][0]["leader"])


async def _count(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


async def one_fault(
    cluster: EmbeddedCluster, fault: str, *, interval: float, after: float
) -> dict[str, Any]:
    """Send through one leader fault; the gap it caused and what the topic kept."""
    topic = f"failover-{fault}-{int(time.time())}"
    async with admin_client(cluster.bootstrap) as admin:
        await admin.create_topics([NewTopic(topic, 1, 3)])
    producer = AIOKafkaProducer(
        bootstrap_servers=cluster.bootstrap,
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=30_000,
    )
    await producer.start()
    acked: list[float] = []
    leader = await _leader(cluster.bootstrap, topic)
    struck_at = None
    started = time.monotonic()
    try:
        while time.monotonic() - started < after * 2:
            if struck_at is None and time.monotonic() - started >= after / 2:
                struck_at = time.monotonic()
                if fault == "kill":
                    cluster.kill(leader)
                else:
                    await asyncio.to_thread(cluster.terminate, leader)
            await producer.send_and_wait(topic, b"x")
            acked.append(time.monotonic())
            await asyncio.sleep(interval)
    finally:
        await producer.stop()
    cluster.restart(leader)
    await asyncio.to_thread(cluster.await_brokers, [leader], 180)
    assert struck_at is not None
    gaps = [b - a for a, b in itertools.pairwise(acked) if b >= struck_at]
    return {
        "fault": fault,
        "leader": leader,
        "acknowledged": len(acked),
        "kept": await _count(cluster.bootstrap, topic),
        "unavailable_seconds": round(max(gaps) - interval, 3),
        "new_leader": await _leader(cluster.bootstrap, topic),
    }


async def measure_failover(*, interval: float = 0.01, after: float = 20.0) -> list[dict[str, Any]]:
    """A kill -9 and a SIGTERM of the leader, each on the same fresh cluster."""
    home = Path(tempfile.mkdtemp(prefix="ecommerce-streams-bench-cluster-"))
    base = free_port_block(6)
    cluster = EmbeddedCluster(
        home, size=3, port=base, controller_port=base + 1, dist_dir=default_home() / "dist"
    )
    await asyncio.to_thread(cluster.start, 240)
    try:
        return [
            await one_fault(cluster, fault, interval=interval, after=after)
            for fault in ("kill", "terminate")
        ]
    finally:
        await asyncio.to_thread(cluster.stop)
        shutil.rmtree(home, ignore_errors=True)


def render_failover(results: list[dict[str, Any]]) -> str:
    """The figures as Markdown."""
    lines = [
        "## A partition's leader lost: how long writes wait (three brokers, acks=all)",
        "",
        "| fault | records acknowledged | records kept | unavailable (s) |",
        "|---|---:|---:|---:|",
    ]
    for row in results:
        fault = "kill -9" if row["fault"] == "kill" else "SIGTERM (controlled shutdown)"
        lines.append(
            f"| {fault} | {row['acknowledged']} | {row['kept']} | {row['unavailable_seconds']} |"
        )
    return "\n".join(lines) + "\n"
