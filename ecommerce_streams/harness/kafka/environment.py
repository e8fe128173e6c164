"""Where the embedded broker lives and which ports it takes, from the settings (ES_*)."""

import os
from pathlib import Path

from ecommerce_streams.harness.kafka.errors import BrokerError
from ecommerce_streams.settings import Settings, settings_from_environment

VERSION_ENV = "KAFKA_VERSION"


def _settings() -> Settings:
    """The settings, or a BrokerError naming the variable that is wrong."""
    try:
        return settings_from_environment()
    except ValueError as invalid:
        raise BrokerError(str(invalid)) from None


def bootstrap_from_env() -> str | None:
    """Return the user's cluster from ES_BROKER, or None when a local broker should be used."""
    return _settings().broker


def default_home() -> Path:
    """Return ES_KAFKA_HOME, else <XDG_CACHE_HOME or ~/.cache>/ecommerce-streams/kafka."""
    override = _settings().kafka_home
    if override is not None:
        return override.expanduser()
    cache_root = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(cache_root).expanduser() if cache_root else Path.home() / ".cache"
    return base / "ecommerce-streams" / "kafka"


def default_port() -> int:
    """Return ES_KAFKA_PORT (9092 unless set)."""
    return _settings().kafka_port


def default_controller_port() -> int:
    """Return ES_KAFKA_CONTROLLER_PORT (9093 unless set)."""
    return _settings().kafka_controller_port
