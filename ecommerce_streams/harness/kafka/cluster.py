"""A real KRaft cluster on loopback: N combined broker+controller nodes from the same jars.

Node ``i`` (1-based) listens on ``port + 2(i-1)`` for clients and ``controller_port +
2(i-1)`` for the quorum, keeps its data under ``home/node-<i>``, and all of them are
formatted with one cluster id. Topics, offsets and transaction state are replicated on
every node, an acks=all write needs two in sync (``replication_settings``). Faults are
struck per node: kill -9, SIGTERM, restart.
"""

import asyncio
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka.errors import KafkaError

from ecommerce_streams.harness.kafka.broker import EmbeddedKafka
from ecommerce_streams.harness.kafka.errors import BrokerError
from ecommerce_streams.harness.kafka.file_lock import exclusive_lock
from ecommerce_streams.harness.kafka.server_config import voters_of
from ecommerce_streams.harness.kafka.storage import new_cluster_id
from ecommerce_streams.harness.kafka.toolchain import require_java
from ecommerce_streams.kafka_admin import admin_client

LAYOUT_FILE = "cluster.json"


@dataclass
class EmbeddedCluster:
    """``size`` KRaft nodes on 127.0.0.1 forming one cluster."""

    home: Path
    size: int = 3
    port: int = 9092
    controller_port: int = 9093
    version: str | None = None
    dist_dir: Path | None = None
    heap: str = "512m"
    nodes: dict[int, EmbeddedKafka] = field(init=False)

    def __post_init__(self) -> None:
        if self.size < 1:
            raise BrokerError(f"a cluster needs at least one node, not {self.size}")
        self.home = Path(self.home).expanduser().resolve()
        controller_ports = {i: self.controller_port + 2 * (i - 1) for i in self._ids()}
        voters = voters_of(controller_ports)
        cluster_id = self._cluster_id()
        extra: dict[str, Any] = {} if self.version is None else {"version": self.version}
        self.nodes = {
            i: EmbeddedKafka(
                port=self.port + 2 * (i - 1),
                controller_port=controller_ports[i],
                home=self.home / f"node-{i}",
                heap=self.heap,
                dist_dir=self.dist_dir,
                node_id=i,
                voters=voters,
                replicas=self.size,
                cluster_id=cluster_id,
                **extra,
            )
            for i in self._ids()
        }

    def _ids(self) -> range:
        return range(1, self.size + 1)

    def _cluster_id(self) -> str:
        """The cluster's id, kept in its layout file so restarts and new nodes agree."""
        layout = self.home / LAYOUT_FILE
        if layout.is_file():
            kept = json.loads(layout.read_text())
            if kept.get("size") == self.size and kept.get("port") == self.port:
                return str(kept["cluster_id"])
        return new_cluster_id()

    def _keep_layout(self) -> None:
        any_node = next(iter(self.nodes.values()))
        layout = {
            "size": self.size,
            "port": self.port,
            "controller_port": self.controller_port,
            "cluster_id": any_node.cluster_id,
            "bootstrap": self.bootstrap,
        }
        (self.home / LAYOUT_FILE).write_text(json.dumps(layout, indent=2) + "\n")

    @property
    def bootstrap(self) -> str:
        """Every node's client address, for ``ES_BROKER``."""
        return ",".join(node.bootstrap for node in self.nodes.values())

    def start(self, timeout: float = 180) -> str:
        """Start every node that is not running, wait until transactions commit: bootstrap."""
        require_java()  # before anything is written
        self.home.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(self.home / ".lock"):
            self._keep_layout()
            pids = {i: node.launch() for i, node in self.nodes.items()}
            try:
                deadline = time.monotonic() + timeout
                self.nodes[1].await_ready(pids[1], timeout, bootstrap=self.bootstrap)
                self.await_brokers(list(self.nodes), deadline - time.monotonic())
            except BaseException:
                self.stop()
                raise
        return self.bootstrap

    def await_brokers(self, node_ids: list[int], timeout: float) -> None:
        """Wait until the cluster counts every one of ``node_ids`` among its live brokers.

        A node restarted within the controller's broker session (9 s) is refused as a
        duplicate registration until the old one expires; transactions work before that.
        Blocking (it runs its own event loop): from a coroutine, call it in a thread.
        """
        deadline = time.monotonic() + max(timeout, 0)
        seen: list[int] = []
        while time.monotonic() < deadline:
            try:
                seen = asyncio.run(cluster_health(self.bootstrap))["brokers"]
            except Exception:  # the quorum is still forming
                seen = []
            if set(node_ids) <= set(seen):
                return
            time.sleep(0.5)
        raise BrokerError(
            f"nodes {sorted(set(node_ids) - set(seen))} did not join the cluster within "
            f"{timeout:.0f} s (live: {seen}); see `ecommerce-streams kafka logs`"
        )

    def stop(self, timeout: float = 30) -> bool:
        """SIGTERM every node (SIGKILL after timeout); whether any was running."""
        return any([node.stop(timeout) for node in reversed(list(self.nodes.values()))])

    def kill(self, node_id: int) -> None:
        """SIGKILL one node at once, as a crash would."""
        self.node(node_id).kill()

    def terminate(self, node_id: int, timeout: float = 30) -> None:
        """SIGTERM one node: a clean shutdown (leadership moves first)."""
        self.node(node_id).stop(timeout)

    def restart(self, node_id: int) -> None:
        """Start one stopped or killed node again (it rejoins its quorum; returns at once)."""
        self.node(node_id).launch()

    def node(self, node_id: int) -> EmbeddedKafka:
        """Node ``node_id`` (1-based)."""
        try:
            return self.nodes[node_id]
        except KeyError:
            raise BrokerError(f"no node {node_id}: the cluster has nodes 1-{self.size}") from None

    def running(self) -> list[int]:
        """The ids of the nodes whose process runs."""
        return [i for i, node in self.nodes.items() if node.status()["running"]]

    def reset(self) -> None:
        """Stop every node and delete every node's data."""
        for node in self.nodes.values():
            node.reset()
        (self.home / LAYOUT_FILE).unlink(missing_ok=True)

    def status(self) -> dict[str, Any]:
        """Each node, the controller leader, live brokers and under-replicated partitions."""
        nodes = {i: node.status() for i, node in self.nodes.items()}
        facts: dict[str, Any] = {
            "bootstrap": self.bootstrap,
            "nodes": {
                i: {"running": n["running"], "pid": n["pid"], "bootstrap": n["bootstrap"]}
                for i, n in nodes.items()
            },
        }
        facts["controller_leader"] = self.controller_leader()
        live = [self.nodes[i].bootstrap for i, n in nodes.items() if n["running"]]
        if live:
            try:
                health = asyncio.run(cluster_health(",".join(live)))
                facts["brokers"] = health["brokers"]
                facts["under_replicated"] = health["under_replicated"]
            except Exception as away:  # the quorum may be down: say so, not fail
                facts["health"] = f"unavailable: {away!r}"
        return facts

    def controller_leader(self) -> int | None:
        """The active controller: the quorum leader of the newest epoch a running node saw.

        Kafka's clients are told a random broker as "controller" under KRaft; each node
        writes the quorum's leader and epoch to its ``quorum-state`` file.
        """
        newest: tuple[int, int] | None = None
        for i in self.running():
            state_file = self.nodes[i].data_dir / "__cluster_metadata-0" / "quorum-state"
            try:
                state = json.loads(state_file.read_text())
            except (OSError, ValueError):
                continue
            seen = (int(state.get("leaderEpoch", -1)), int(state.get("leaderId", -1)))
            if seen[1] > 0 and (newest is None or seen > newest):
                newest = seen
        return None if newest is None else newest[1]

    async def await_fenced(self, node_ids: list[int], timeout: float = 120) -> None:
        """Wait until the running nodes lead every partition that killed nodes led.

        Restart a killed node only then. A node of Kafka 4.4 restarted before the quorum
        fences it can take back leadership at the epoch it had, with records it never
        replicated: its transaction coordinator once completed a commit from them that the
        cluster then truncated, leaving one transaction committed in some partitions and
        aborted in others (docs/chaos-campaign.md, "A node restarted before it was fenced").
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            running = ",".join(self.nodes[i].bootstrap for i in self.running())
            try:
                async with admin_client(running, request_timeout_ms=5_000) as admin:
                    described = await admin.describe_topics()  # internal topics included
            except (KafkaError, OSError, TimeoutError):  # a quorum still electing: ask again
                described = None
            if described is not None and not any(
                p.get("leader") in node_ids for topic in described for p in topic["partitions"]
            ):
                return
            await asyncio.sleep(0.5)
        raise BrokerError(f"nodes {node_ids} still lead partitions {timeout:.0f} s after a kill")

    def log_tail(self, lines: int = 50) -> str:
        """The end of every node's log, one after the other."""
        return "\n".join(
            f"=== node {i} ({node.log_path})\n{node.log_tail(lines)}"
            for i, node in self.nodes.items()
        )


async def cluster_health(bootstrap: str) -> dict[str, Any]:
    """The brokers the cluster counts as live, and the partitions short of replicas."""
    async with admin_client(bootstrap, request_timeout_ms=10_000) as admin:
        cluster = await admin.describe_cluster()
        names = await admin.list_topics()
        described = await admin.describe_topics(list(names)) if names else []
    return {
        "brokers": sorted(b["node_id"] for b in cluster.get("brokers", [])),
        "under_replicated": under_replicated(described),
    }


def under_replicated(described: Iterable[dict[str, Any]]) -> list[str]:
    """``topic[partition]`` of every partition with fewer in-sync replicas than replicas."""
    return sorted(
        f"{topic['topic']}[{p['partition']}]"
        for topic in described
        for p in topic.get("partitions", [])
        if len(p.get("isr", [])) < len(p.get("replicas", []))
    )


def cluster_layout(home: Path) -> dict[str, Any] | None:
    """The layout a cluster under ``home`` was started with, or None if there is none."""
    layout = Path(home).expanduser() / LAYOUT_FILE
    return json.loads(layout.read_text()) if layout.is_file() else None
