"""Environment variables and default locations for the embedded broker."""

import os
from pathlib import Path

from ecommerce_streams.harness.kafka.errors import BrokerError

BROKER_ENV = "ES_BROKER"
HOME_ENV = "ES_KAFKA_HOME"
PORT_ENV = "ES_KAFKA_PORT"
CONTROLLER_PORT_ENV = "ES_KAFKA_CONTROLLER_PORT"
VERSION_ENV = "KAFKA_VERSION"


def bootstrap_from_env() -> str | None:
    """Return the user's cluster from ES_BROKER, or None when a local broker should be used."""
    value = os.environ.get(BROKER_ENV, "").strip()
    return value or None


def default_home() -> Path:
    """Return ES_KAFKA_HOME, else <XDG_CACHE_HOME or ~/.cache>/ecommerce-streams/kafka."""
    override = os.environ.get(HOME_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    cache_root = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(cache_root).expanduser() if cache_root else Path.home() / ".cache"
    return base / "ecommerce-streams" / "kafka"


def port_from_env(variable: str, default: int) -> int:
    """Return the TCP port named by an environment variable, or the default when unset."""
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise BrokerError(f"{variable}={raw!r} is not a TCP port: set it to a number 1 to 65535")
    return port
