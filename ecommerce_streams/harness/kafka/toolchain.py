"""Checks that Java and Maven, which the embedded broker needs, are installed."""

import re
import shutil
import subprocess
from pathlib import Path

from ecommerce_streams.harness.kafka.errors import BrokerError

MINIMUM_JAVA_MAJOR = 17

NO_JAVA_MESSAGE = (
    "Java was not found on PATH. The embedded Kafka broker needs Java 17 or newer: "
    "install a JDK 17+ (for example `apt-get install openjdk-17-jre-headless`) "
    "and make sure `java` is on PATH, or point ES_BROKER at an existing Kafka cluster."
)
NO_MAVEN_MESSAGE = (
    "Maven (`mvn`) was not found on PATH. The embedded Kafka broker downloads its jars "
    "from Maven Central with it: install Maven 3 (for example `apt-get install maven`) "
    "and make sure `mvn` is on PATH, or point ES_BROKER at an existing Kafka cluster."
)

_JAVA_VERSION_PATTERN = re.compile(r'version "(\d+)(?:\.(\d+))?')


def java_major_version(version_output: str) -> int | None:
    """Return the major version from `java -version` output ("1.8.0" -> 8), or None."""
    match = _JAVA_VERSION_PATTERN.search(version_output)
    if not match:
        return None
    first = int(match[1])
    if first == 1 and match[2] is not None:
        return int(match[2])
    return first


def require_java() -> Path:
    """Return the java executable on PATH, or raise BrokerError unless it is Java 17+."""
    java = shutil.which("java")
    if java is None:
        raise BrokerError(NO_JAVA_MESSAGE)
    try:
        completed = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise BrokerError(
            f"Could not run `{java} -version` ({error}): install Java 17 or newer "
            "and make sure `java` on PATH works."
        ) from error
    output = completed.stderr + completed.stdout
    major = java_major_version(output)
    if major is None:
        first_line = output.strip().splitlines()[0] if output.strip() else "no output"
        raise BrokerError(
            f"Could not read the Java version from `{java} -version` ({first_line!r}): "
            "install Java 17 or newer and put it first on PATH."
        )
    if major < MINIMUM_JAVA_MAJOR:
        raise BrokerError(
            f"Java {major} at {java} is too old: the embedded Kafka broker needs Java "
            f"{MINIMUM_JAVA_MAJOR} or newer. Install a JDK 17+ and put it first on PATH."
        )
    return Path(java)


def require_maven() -> Path:
    """Return the mvn executable on PATH, or raise BrokerError saying how to install it."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError(NO_MAVEN_MESSAGE)
    return Path(mvn)
