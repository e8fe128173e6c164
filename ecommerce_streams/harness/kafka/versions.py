"""Which Kafka versions the embedded broker accepts, and the logging each one needs."""

import os
import re
from dataclasses import dataclass

from ecommerce_streams.harness.kafka.environment import VERSION_ENV
from ecommerce_streams.harness.kafka.errors import BrokerError

DEFAULT_KAFKA_VERSION = "4.4.0"

REFUSED_VERSIONS = {
    "4.0.0": "it dropped protocol versions that aiokafka still needs",
}
OLDEST_SUPPORTED = (3, 3)

_VERSION_PATTERN = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


@dataclass(frozen=True)
class LoggingBinding:
    """The SLF4J binding jars a Kafka version needs and how the JVM is told its config."""

    artifacts: tuple[tuple[str, str, str], ...]
    config_resource: str
    jvm_property: str
    location_prefix: str = ""

    def jvm_flag(self, config_path: str) -> str:
        """Return the -D flag that points the broker's logging at config_path."""
        return f"-D{self.jvm_property}={self.location_prefix}{config_path}"


LOG4J2_BINDING = LoggingBinding(
    artifacts=(("org.apache.logging.log4j", "log4j-slf4j-impl", "2.24.3"),),
    config_resource="log4j2.yaml",
    jvm_property="log4j2.configurationFile",
)
RELOAD4J_BINDING = LoggingBinding(
    artifacts=(
        ("org.slf4j", "slf4j-reload4j", "1.7.36"),
        ("ch.qos.reload4j", "reload4j", "1.2.25"),
    ),
    config_resource="log4j.properties",
    jvm_property="log4j.configuration",
    location_prefix="file:",
)


def kafka_version_from_env() -> str:
    """Return KAFKA_VERSION from the environment, else DEFAULT_KAFKA_VERSION."""
    return os.environ.get(VERSION_ENV, "").strip() or DEFAULT_KAFKA_VERSION


def version_numbers(version: str) -> tuple[int, int, int]:
    """Check that a Kafka version is usable here and return it as (major, minor, patch)."""
    match = _VERSION_PATTERN.match(version)
    if not match:
        raise BrokerError(
            f"Kafka version {version!r} is not a release number like {DEFAULT_KAFKA_VERSION}: "
            f"set {VERSION_ENV} to a released Kafka version"
        )
    if version in REFUSED_VERSIONS:
        raise BrokerError(
            f"Kafka {version} is not supported: {REFUSED_VERSIONS[version]}. "
            f"Use {DEFAULT_KAFKA_VERSION} (the default) or 3.9.1 via {VERSION_ENV}"
        )
    numbers = (int(match[1]), int(match[2]), int(match[3]))
    if numbers[:2] < OLDEST_SUPPORTED:
        oldest = ".".join(map(str, OLDEST_SUPPORTED))
        raise BrokerError(
            f"Kafka {version} cannot run without ZooKeeper; the embedded broker needs "
            f"{oldest} or newer: set {VERSION_ENV} to {DEFAULT_KAFKA_VERSION}"
        )
    return numbers


def logging_binding(version: str) -> LoggingBinding:
    """Return the logging binding for a Kafka version: log4j2 from 4.0 on, reload4j before."""
    major = version_numbers(version)[0]
    return LOG4J2_BINDING if major >= 4 else RELOAD4J_BINDING
