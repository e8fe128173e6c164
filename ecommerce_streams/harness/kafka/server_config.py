"""The broker's server.properties and logging configuration for a single KRaft node."""

from importlib import resources
from pathlib import Path

from ecommerce_streams.harness.kafka.versions import logging_binding, version_numbers

LOOPBACK = "127.0.0.1"
NODE_ID = 1


def server_settings(
    version: str, port: int, controller_port: int, data_dir: Path
) -> dict[str, str]:
    """Return the settings of a single combined broker+controller that supports transactions."""
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(NODE_ID),
        "controller.quorum.voters": f"{NODE_ID}@{LOOPBACK}:{controller_port}",
        "listeners": f"PLAINTEXT://{LOOPBACK}:{port},CONTROLLER://{LOOPBACK}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data_dir),
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "4",
        "group.initial.rebalance.delay.ms": "0",
        "log.cleaner.dedupe.buffer.size": "2097152",
        "num.network.threads": "2",
        "num.io.threads": "2",
        "background.threads": "2",
        "auto.create.topics.enable": "false",
    }
    if version_numbers(version)[0] >= 4:
        settings["share.coordinator.state.topic.replication.factor"] = "1"
        settings["share.coordinator.state.topic.min.isr"] = "1"
    return settings


def render_server_properties(version: str, port: int, controller_port: int, data_dir: Path) -> str:
    """Return server.properties text for the single-node broker."""
    settings = server_settings(version, port, controller_port, data_dir)
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
