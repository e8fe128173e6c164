"""Unit tests: versions, server.properties, cluster ids, locations and environment."""

import base64
from pathlib import Path

import pytest

from ecommerce_streams.harness.kafka import (
    DEFAULT_KAFKA_VERSION,
    BrokerError,
    EmbeddedKafka,
    bootstrap_from_env,
)
from ecommerce_streams.harness.kafka.broker import jvm_options
from ecommerce_streams.harness.kafka.environment import default_home
from ecommerce_streams.harness.kafka.server_config import render_server_properties, server_settings
from ecommerce_streams.harness.kafka.storage import new_cluster_id
from ecommerce_streams.harness.kafka.versions import kafka_version_from_env

TRANSACTION_SETTINGS = [
    "process.roles=broker,controller",
    "node.id=1",
    "controller.quorum.voters=1@127.0.0.1:9093",
    "listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093",
    "advertised.listeners=PLAINTEXT://127.0.0.1:9092",
    "controller.listener.names=CONTROLLER",
    "inter.broker.listener.name=PLAINTEXT",
    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    "offsets.topic.replication.factor=1",
    "offsets.topic.num.partitions=4",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "transaction.state.log.num.partitions=4",
    "group.initial.rebalance.delay.ms=0",
    "auto.create.topics.enable=false",
]
SHARE_COORDINATOR_SETTINGS = [
    "share.coordinator.state.topic.replication.factor=1",
    "share.coordinator.state.topic.min.isr=1",
]


def properties_lines(version: str) -> list[str]:
    """Render server.properties for ports 9092/9093 and return its lines."""
    settings = server_settings(version, 9092, 9093, Path("/var/kafka/data"))
    return render_server_properties(settings).splitlines()


def test_default_version_is_4_4_0():
    assert DEFAULT_KAFKA_VERSION == "4.4.0"


def test_kafka_version_env_overrides_the_default(monkeypatch):
    monkeypatch.setenv("KAFKA_VERSION", "3.9.1")
    assert kafka_version_from_env() == "3.9.1"
    assert EmbeddedKafka(port=19092, controller_port=19093).version == "3.9.1"
    monkeypatch.delenv("KAFKA_VERSION")
    assert kafka_version_from_env() == DEFAULT_KAFKA_VERSION


def test_kafka_4_0_0_is_refused_with_a_reason_and_an_alternative():
    with pytest.raises(BrokerError, match=r"Kafka 4\.0\.0 is not supported: .*aiokafka.*4\.4\.0"):
        EmbeddedKafka(version="4.0.0")


@pytest.mark.parametrize("version", ["latest", "4.4", "3.2.3"])
def test_unusable_versions_are_refused(version):
    with pytest.raises(BrokerError, match="KAFKA_VERSION"):
        EmbeddedKafka(version=version)


def test_server_properties_enable_transactions_on_a_single_node():
    lines = properties_lines("4.4.0")
    for setting in TRANSACTION_SETTINGS + SHARE_COORDINATOR_SETTINGS:
        assert setting in lines
    assert "log.dirs=/var/kafka/data" in lines


def test_server_properties_for_kafka_3_leave_out_share_coordinator_settings():
    lines = properties_lines("3.9.1")
    for setting in TRANSACTION_SETTINGS:
        assert setting in lines
    assert not any(line.startswith("share.coordinator") for line in lines)


def test_cluster_ids_are_22_char_base64url_not_starting_with_dash():
    for _ in range(500):
        cluster_id = new_cluster_id()
        assert len(cluster_id) == 22
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_bootstrap_from_env_returns_es_broker_or_none(monkeypatch):
    monkeypatch.delenv("ES_BROKER", raising=False)
    assert bootstrap_from_env() is None
    monkeypatch.setenv("ES_BROKER", "kafka-1:9092,kafka-2:9092")
    assert bootstrap_from_env() == "kafka-1:9092,kafka-2:9092"


def test_home_defaults_to_the_user_cache_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("ES_KAFKA_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_home() == tmp_path / "xdg" / "ecommerce-streams" / "kafka"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_home() == Path.home() / ".cache" / "ecommerce-streams" / "kafka"
    monkeypatch.setenv("ES_KAFKA_HOME", str(tmp_path / "custom"))
    assert default_home() == tmp_path / "custom"


def test_jar_cache_is_shared_while_run_state_is_per_port(tmp_path):
    broker = EmbeddedKafka(version="4.4.0", port=29092, controller_port=29093, home=tmp_path)
    assert broker.jar_cache_dir == tmp_path / "dist"
    assert broker.run_dir == tmp_path / "run" / "29092"
    assert broker.data_dir == tmp_path / "run" / "29092" / "data"
    assert broker.log_path.name == "broker.log"
    assert broker.pid_file.name == "broker.pid"
    shared = EmbeddedKafka(
        version="4.4.0", port=29094, controller_port=29095, home=tmp_path, dist_dir=tmp_path / "x"
    )
    assert shared.jar_cache_dir == tmp_path / "x"


def test_ports_come_from_the_environment_when_not_given(monkeypatch, tmp_path):
    monkeypatch.setenv("ES_KAFKA_PORT", "39092")
    monkeypatch.setenv("ES_KAFKA_CONTROLLER_PORT", "39093")
    broker = EmbeddedKafka(version="4.4.0", home=tmp_path)
    assert (broker.port, broker.controller_port) == (39092, 39093)
    assert broker.status()["bootstrap"] == "127.0.0.1:39092"


def test_same_port_for_broker_and_controller_is_refused(tmp_path):
    with pytest.raises(BrokerError, match="two different ports"):
        EmbeddedKafka(version="4.4.0", port=9092, controller_port=9092, home=tmp_path)


def test_a_port_out_of_range_is_refused_naming_its_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("ES_KAFKA_PORT", "70000")
    with pytest.raises(BrokerError, match="ES_KAFKA_PORT: Input should be less than or equal"):
        EmbeddedKafka(version="4.4.0", home=tmp_path)


def test_the_broker_jvm_starts_with_its_whole_heap_and_kafkas_collector_settings() -> None:
    options = jvm_options("768m")

    assert options[:2] == ["-Xms768m", "-Xmx768m"]
    assert "-XX:+UseG1GC" in options
    assert "-XX:InitiatingHeapOccupancyPercent=35" in options
