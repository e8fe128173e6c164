"""The Kafka broker's jars, assembled from Maven Central and cached per version."""

import re
import shutil
import subprocess
from pathlib import Path

from ecommerce_streams.harness.kafka.errors import BrokerError
from ecommerce_streams.harness.kafka.file_lock import exclusive_lock
from ecommerce_streams.harness.kafka.toolchain import require_maven
from ecommerce_streams.harness.kafka.versions import logging_binding

COMPLETE_MARKER = ".complete"
MAVEN_TIMEOUT_SECONDS = 900
ERROR_LINES_SHOWN = 25

_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
_NETWORK_SYMPTOMS = (
    "could not transfer",
    "unknownhost",
    "connection refused",
    "connect timed out",
    "read timed out",
    "network is unreachable",
    "no route to host",
    "certificate",
    "offline mode",
)

_POM_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>ecommerce-streams.local</groupId>
  <artifactId>embedded-kafka-{version}</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
{dependencies}
  </dependencies>
</project>
"""

_DEPENDENCY_TEMPLATE = """    <dependency>
      <groupId>{group}</groupId>
      <artifactId>{artifact}</artifactId>
      <version>{version}</version>
    </dependency>"""


def version_dir(dist_dir: Path, version: str) -> Path:
    """Return the directory holding one Kafka version's pom, jars and completion marker."""
    return dist_dir / version


def jar_dir(dist_dir: Path, version: str) -> Path:
    """Return the directory that holds (or will hold) one Kafka version's jars."""
    return version_dir(dist_dir, version) / "lib"


def jars_are_cached(dist_dir: Path, version: str) -> bool:
    """Return whether a complete set of jars for the version is already in the cache."""
    return (version_dir(dist_dir, version) / COMPLETE_MARKER).is_file()


def render_pom(version: str) -> str:
    """Return a pom whose runtime dependencies are the Kafka broker and its logging binding."""
    coordinates = [("org.apache.kafka", "kafka_2.13", version)]
    coordinates.extend(logging_binding(version).artifacts)
    dependencies = "\n".join(
        _DEPENDENCY_TEMPLATE.format(group=group, artifact=artifact, version=artifact_version)
        for group, artifact, artifact_version in coordinates
    )
    return _POM_TEMPLATE.format(version=version, dependencies=dependencies)


def ensure_jars(version: str, dist_dir: Path) -> Path:
    """Download the broker jars for a version with Maven unless cached; return their directory."""
    target = version_dir(dist_dir, version)
    lib = jar_dir(dist_dir, version)
    if jars_are_cached(dist_dir, version):
        return lib
    mvn = require_maven()
    with exclusive_lock(dist_dir / f".{version}.lock"):
        if jars_are_cached(dist_dir, version):
            return lib
        target.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(lib, ignore_errors=True)
        (target / "pom.xml").write_text(render_pom(version), encoding="utf-8")
        _run_maven(mvn, target, version)
        jar_count = len(list(lib.glob("*.jar")))
        if not (lib / f"kafka_2.13-{version}.jar").is_file():
            raise BrokerError(
                f"Maven finished but kafka_2.13-{version}.jar is missing from {lib}: "
                f"delete {target} and try again."
            )
        (target / COMPLETE_MARKER).write_text(f"{jar_count} jars\n", encoding="utf-8")
    return lib


def _run_maven(mvn: Path, project_dir: Path, version: str) -> None:
    """Run mvn to copy the pom's runtime dependencies into project_dir/lib."""
    command = [
        str(mvn),
        "-q",
        "-B",
        "-f",
        str(project_dir / "pom.xml"),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        "-DoutputDirectory=lib",
    ]
    try:
        completed = subprocess.run(
            command,
            cwd=project_dir,
            capture_output=True,
            text=True,
            timeout=MAVEN_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise BrokerError(
            f"Maven did not finish downloading Kafka {version} within "
            f"{MAVEN_TIMEOUT_SECONDS} s: check network access to Maven Central "
            "(https://repo.maven.apache.org) or set a mirror in ~/.m2/settings.xml."
        ) from error
    except OSError as error:
        raise BrokerError(f"Could not run Maven at {mvn} ({error}): reinstall Maven 3.") from error
    if completed.returncode != 0:
        output = _ANSI_ESCAPE.sub("", completed.stdout + completed.stderr)
        raise BrokerError(_maven_failure_message(version, output))


def _maven_failure_message(version: str, output: str) -> str:
    """Explain a failed Maven run: what probably went wrong, what to do, and mvn's last lines."""
    lowered = output.lower()
    if f"org.apache.kafka:kafka_2.13:jar:{version}" in lowered and "could not find" in lowered:
        advice = (
            f"Kafka {version} is not on Maven Central: set KAFKA_VERSION to a released "
            "version such as 4.4.0 or 3.9.1."
        )
    elif any(symptom in lowered for symptom in _NETWORK_SYMPTOMS):
        advice = (
            "Maven could not download from Maven Central: check network access to "
            "https://repo.maven.apache.org, or set a reachable mirror in ~/.m2/settings.xml."
        )
    else:
        advice = (
            f"Maven could not resolve the jars for Kafka {version}: check network access to "
            "Maven Central or set a mirror in ~/.m2/settings.xml; if one of Kafka's own "
            "dependencies cannot be resolved, try the previous patch release via KAFKA_VERSION."
        )
    tail = "\n".join(output.strip().splitlines()[-ERROR_LINES_SHOWN:])
    return f"{advice}\nLast lines from mvn:\n{tail}"
