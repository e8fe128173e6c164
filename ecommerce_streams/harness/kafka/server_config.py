"""The broker's server.properties and logging configuration for a single KRaft node."""

from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from ecommerce_streams.harness.kafka.versions import logging_binding, version_numbers

LOOPBACK = "127.0.0.1"
NODE_ID = 1


def replication_settings(replicas: int) -> dict[str, str]:
    """Durability of a cluster of ``replicas`` nodes: every topic on all of them, an acks=all
    write on two (one for a single node), the same for offsets and transaction state.

    The one place these values live: the embedded cluster writes them, and the static test
    of ``docker/compose.yaml`` holds its brokers to them.
    """
    in_sync = str(min(2, replicas))
    return {
        "default.replication.factor": str(replicas),
        "min.insync.replicas": in_sync,
        "offsets.topic.replication.factor": str(replicas),
        "transaction.state.log.replication.factor": str(replicas),
        "transaction.state.log.min.isr": in_sync,
    }


def voters_of(controller_ports: dict[int, int]) -> str:
    """``controller.quorum.voters`` of nodes on loopback: ``id@127.0.0.1:port,...``."""
    return ",".join(f"{node}@{LOOPBACK}:{port}" for node, port in sorted(controller_ports.items()))


def server_settings(
    version: str,
    port: int,
    controller_port: int,
    data_dir: Path,
    *,
    node_id: int = NODE_ID,
    voters: str | None = None,
    replicas: int = 1,
) -> dict[str, str]:
    """Return the settings of one combined broker+controller that supports transactions:
    alone (the default), or node ``node_id`` of the quorum ``voters`` of ``replicas`` nodes."""
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.quorum.voters": voters or voters_of({node_id: controller_port}),
        "listeners": f"PLAINTEXT://{LOOPBACK}:{port},CONTROLLER://{LOOPBACK}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data_dir),
        **replication_settings(replicas),
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.num.partitions": "4",
        "group.initial.rebalance.delay.ms": "0",
        "log.cleaner.dedupe.buffer.size": "2097152",
        "num.network.threads": "2",
        "num.io.threads": "2",
        "background.threads": "2",
        "auto.create.topics.enable": "false",
    }
    if version_numbers(version)[0] >= 4:
        settings["share.coordinator.state.topic.replication.factor"] = str(replicas)
        settings["share.coordinator.state.topic.min.isr"] = str(min(2, replicas))
    return settings


def render_server_properties(settings: Mapping[str, str]) -> str:
    """Return server.properties text for one node's settings (see :func:`server_settings`)."""
    lines = ["# Written by ecommerce_streams.harness.kafka; rewritten on every start."]
    lines.extend(f"{key}={_escape(value)}" for key, value in settings.items())
    return "\n".join(lines) + "\n"


def logging_config_text(version: str) -> str:
    """Return the logging configuration file text for the version's logging backend."""
    resource = logging_binding(version).config_resource
    return resources.files(__package__).joinpath(resource).read_text(encoding="utf-8")


def logging_config_name(version: str) -> str:
    """Return the file name the version's logging configuration is written under."""
    return logging_binding(version).config_resource


def _escape(value: str) -> str:
    """Escape the characters a .properties value cannot hold literally."""
    return value.replace("\\", "\\\\").replace("\n", "\\n")
