"""Unit tests: the embedded broker explains missing or unusable Java, Maven and ports."""

import socket
import stat
from pathlib import Path

import pytest

from ecommerce_streams.harness.kafka import BrokerError, EmbeddedKafka, free_port
from ecommerce_streams.harness.kafka.distribution import COMPLETE_MARKER, version_dir
from ecommerce_streams.harness.kafka.toolchain import java_major_version


def write_fake_java(bin_dir: Path, version: str) -> None:
    """Put a `java` script on bin_dir that prints the given version like `java -version`."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    java = bin_dir / "java"
    java.write_text(
        f"#!/bin/sh\necho 'openjdk version \"{version}\" 2019-01-15' >&2\n", encoding="utf-8"
    )
    java.chmod(java.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def broker_in(home: Path, **overrides: object) -> EmbeddedKafka:
    """Return an EmbeddedKafka with its home in a temporary dir, on free ports."""
    settings: dict[str, object] = {
        "version": "4.4.0",
        "port": free_port(),
        "controller_port": free_port(),
        "home": home,
    }
    settings.update(overrides)
    return EmbeddedKafka(**settings)  # type: ignore[arg-type]


def mark_jars_cached(broker: EmbeddedKafka) -> None:
    """Pretend the jar cache is complete so that start() does not need Maven."""
    target = version_dir(broker.jar_cache_dir, broker.version)
    target.mkdir(parents=True, exist_ok=True)
    (target / COMPLETE_MARKER).write_text("fake\n", encoding="utf-8")


def test_start_without_java_says_to_install_java_17(tmp_path, monkeypatch):
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    with pytest.raises(BrokerError, match=r"Java was not found on PATH.*Java 17 or newer"):
        broker_in(tmp_path / "home").start()


def test_start_with_java_11_says_java_is_too_old(tmp_path, monkeypatch):
    write_fake_java(tmp_path / "bin", "11.0.2")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(BrokerError, match=r"Java 11 .* is too old.*Java 17 or newer"):
        broker_in(tmp_path / "home").start()


def test_start_without_maven_says_to_install_maven(tmp_path, monkeypatch):
    write_fake_java(tmp_path / "bin", "17.0.15")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(BrokerError, match=r"Maven \(`mvn`\) was not found on PATH.*install Maven"):
        broker_in(tmp_path / "home").start()


def test_start_with_cached_jars_does_not_need_maven_and_reports_a_taken_port(tmp_path, monkeypatch):
    write_fake_java(tmp_path / "bin", "17.0.15")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        broker = broker_in(tmp_path / "home", port=taken)
        mark_jars_cached(broker)
        with pytest.raises(BrokerError) as raised:
            broker.start()
    message = str(raised.value)
    assert f"Port {taken}" in message
    assert "taken by another process" in message
    assert "ES_KAFKA_PORT" in message


def test_taken_controller_port_names_its_own_variable(tmp_path, monkeypatch):
    write_fake_java(tmp_path / "bin", "17.0.15")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        broker = broker_in(tmp_path / "home", controller_port=taken)
        mark_jars_cached(broker)
        with pytest.raises(BrokerError, match=rf"Port {taken} .*ES_KAFKA_CONTROLLER_PORT"):
            broker.start()


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_292"', 8),
        ('openjdk version "11.0.2" 2019-01-15', 11),
        ("something else entirely", None),
    ],
)
def test_java_major_version_reads_old_and_new_version_styles(output, major):
    assert java_major_version(output) == major


def test_java_check_runs_before_anything_is_written(tmp_path, monkeypatch):
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    home = tmp_path / "home"
    with pytest.raises(BrokerError):
        broker_in(home).start()
    assert not home.exists()
