"""Which Java runs the schema registry: the newest 21+, or a message saying what to install."""

import stat
from pathlib import Path

import pytest

from ecommerce_streams.harness.registry import RegistryError
from ecommerce_streams.harness.registry.java import find_java, java_candidates


def java_reporting(folder: Path, version: str) -> Path:
    """An executable that answers ``-version`` like a JDK of ``version`` does."""
    java = folder / version / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2025-04-15' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    return java


def test_the_newest_java_of_at_least_the_minimum_is_chosen(tmp_path: Path) -> None:
    javas = [java_reporting(tmp_path, v) for v in ("17.0.15", "25.0.1", "21.0.4")]

    assert find_java(21, "The registry", candidates=javas) == javas[1]


def test_without_a_new_enough_java_the_error_says_what_was_found_and_what_to_install(
    tmp_path: Path,
) -> None:
    old = java_reporting(tmp_path, "17.0.15")

    with pytest.raises(RegistryError) as refused:
        find_java(21, "The registry", otherwise=", or set ES_SCHEMA_REGISTRY_URL", candidates=[old])

    message = str(refused.value)
    assert message.startswith(f"The registry needs Java 21 or newer and found Java 17 at {old}")
    assert "Temurin 25" in message and "JAVA_HOME" in message
    assert message.endswith("or set ES_SCHEMA_REGISTRY_URL.")


def test_jdks_under_the_jvm_folder_are_candidates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    java = java_reporting(tmp_path, "25.0.1")

    assert java in java_candidates(tmp_path)
