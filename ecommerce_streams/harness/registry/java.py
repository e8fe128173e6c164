"""Finding a Java new enough for a service: PATH, JAVA_HOME and the JDKs under /usr/lib/jvm."""

import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from ecommerce_streams.harness.kafka.toolchain import java_major_version
from ecommerce_streams.harness.registry.errors import RegistryError

JVM_ROOT = Path("/usr/lib/jvm")


def java_candidates(jvm_root: Path = JVM_ROOT) -> list[Path]:
    """Every java executable worth asking: JAVA_HOME's, PATH's, then each JDK under jvm_root."""
    found: list[Path] = []
    home = os.environ.get("JAVA_HOME", "").strip()
    if home:
        found.append(Path(home) / "bin" / "java")
    on_path = shutil.which("java")
    if on_path:
        found.append(Path(on_path))
    if jvm_root.is_dir():
        found.extend(sorted(jvm_root.glob("*/bin/java")))
    unique: dict[Path, Path] = {}
    for java in found:
        if java.is_file():
            unique.setdefault(java.resolve(), java)
    return list(unique.values())


def java_version(java: Path) -> int | None:
    """The major version ``java -version`` reports, or None if it cannot be run or read."""
    try:
        done = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return java_major_version(done.stderr + done.stdout)


def find_java(
    minimum: int, purpose: str, *, otherwise: str = "", candidates: Iterable[Path] | None = None
) -> Path:
    """The newest java of at least ``minimum``; RegistryError naming what was found otherwise."""
    seen = [(java, java_version(java)) for java in (candidates or java_candidates())]
    usable = [(version, java) for java, version in seen if version is not None]
    fit = [(version, java) for version, java in usable if version >= minimum]
    if fit:
        return max(fit, key=lambda pair: pair[0])[1]
    found = ", ".join(f"Java {version} at {java}" for version, java in usable) or "no Java"
    raise RegistryError(
        f"{purpose} needs Java {minimum} or newer and found {found}. Install a JDK "
        f"{minimum}+ (for example Temurin 25, `apt-get install temurin-25-jdk`, or any JDK "
        f"under {JVM_ROOT}), or set JAVA_HOME to one{otherwise}."
    )
