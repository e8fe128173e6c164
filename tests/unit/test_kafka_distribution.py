"""Unit tests: the Maven-assembled jar cache, with a fake `mvn` instead of the network."""

import os
import stat
import threading
from pathlib import Path

import pytest

from ecommerce_streams.harness.kafka import BrokerError
from ecommerce_streams.harness.kafka.distribution import (
    COMPLETE_MARKER,
    ensure_jars,
    jars_are_cached,
    render_pom,
)

FAKE_MVN_SUCCEEDING = """#!/bin/sh
echo run >> "{calls}"
sleep 0.3
mkdir -p lib
touch lib/kafka_2.13-{version}.jar lib/kafka-clients-{version}.jar
"""
FAKE_MVN_OFFLINE = """#!/bin/sh
echo "[ERROR] Failed to execute goal on project embedded-kafka: Could not transfer artifact \
org.apache.kafka:kafka_2.13:pom:4.4.0 from/to central: java.net.UnknownHostException: \
repo.maven.apache.org"
exit 1
"""


def install_fake_mvn(bin_dir: Path, script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Put an executable `mvn` script first on PATH, ahead of the system tools it uses."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    mvn = bin_dir / "mvn"
    mvn.write_text(script, encoding="utf-8")
    mvn.chmod(mvn.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"]))


def test_pom_for_kafka_4_uses_the_log4j2_binding():
    pom = render_pom("4.4.0")
    assert "<artifactId>kafka_2.13</artifactId>\n      <version>4.4.0</version>" in pom
    assert "<artifactId>log4j-slf4j-impl</artifactId>\n      <version>2.24.3</version>" in pom
    assert "reload4j" not in pom


def test_pom_for_kafka_3_9_uses_the_reload4j_binding():
    pom = render_pom("3.9.1")
    assert "<artifactId>slf4j-reload4j</artifactId>\n      <version>1.7.36</version>" in pom
    assert "<artifactId>reload4j</artifactId>\n      <version>1.2.25</version>" in pom
    assert "log4j-slf4j-impl" not in pom


def test_ensure_jars_runs_maven_once_and_marks_the_cache_complete(tmp_path, monkeypatch):
    calls = tmp_path / "calls"
    install_fake_mvn(
        tmp_path / "bin",
        FAKE_MVN_SUCCEEDING.format(calls=calls, version="4.4.0"),
        monkeypatch,
    )
    dist = tmp_path / "dist"
    lib = ensure_jars("4.4.0", dist)
    assert lib == dist / "4.4.0" / "lib"
    assert (lib / "kafka_2.13-4.4.0.jar").is_file()
    assert (dist / "4.4.0" / COMPLETE_MARKER).is_file()
    assert (dist / "4.4.0" / "pom.xml").is_file()
    ensure_jars("4.4.0", dist)
    assert calls.read_text().count("run") == 1


def test_concurrent_ensure_jars_calls_run_maven_only_once(tmp_path, monkeypatch):
    calls = tmp_path / "calls"
    install_fake_mvn(
        tmp_path / "bin",
        FAKE_MVN_SUCCEEDING.format(calls=calls, version="4.4.0"),
        monkeypatch,
    )
    dist = tmp_path / "dist"
    workers = [threading.Thread(target=ensure_jars, args=("4.4.0", dist)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert calls.read_text().count("run") == 1
    assert jars_are_cached(dist, "4.4.0")


def test_cached_jars_need_no_maven(tmp_path, monkeypatch):
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    dist = tmp_path / "dist"
    (dist / "4.4.0").mkdir(parents=True)
    (dist / "4.4.0" / COMPLETE_MARKER).write_text("45 jars\n")
    assert ensure_jars("4.4.0", dist) == dist / "4.4.0" / "lib"


def test_maven_failure_says_to_check_maven_central_and_shows_mvn_output(tmp_path, monkeypatch):
    install_fake_mvn(tmp_path / "bin", FAKE_MVN_OFFLINE, monkeypatch)
    with pytest.raises(BrokerError) as raised:
        ensure_jars("4.4.0", tmp_path / "dist")
    message = str(raised.value)
    assert "Maven Central" in message
    assert "~/.m2/settings.xml" in message
    assert "UnknownHostException" in message
    assert not jars_are_cached(tmp_path / "dist", "4.4.0")


def test_ensure_jars_without_maven_says_to_install_maven(tmp_path, monkeypatch):
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    with pytest.raises(BrokerError, match="install Maven"):
        ensure_jars("4.4.0", tmp_path / "dist")
