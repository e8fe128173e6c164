"""Apicurio Registry's ready-to-run distribution, fetched from Maven Central once and cached."""

import re
import shutil
import subprocess
import tarfile
from pathlib import Path

from ecommerce_streams.harness.kafka.file_lock import exclusive_lock
from ecommerce_streams.harness.registry.errors import RegistryError

ARTIFACT = "io.apicurio:apicurio-registry-app:{version}:tar.gz:all"
COMPLETE_MARKER = ".complete"
MAVEN_TIMEOUT_SECONDS = 1800
ERROR_LINES_SHOWN = 20
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
NO_MAVEN_MESSAGE = (
    "Maven (`mvn`) was not found on PATH. The embedded schema registry is downloaded from "
    "Maven Central with it: install Maven 3 (for example `apt-get install maven`), or set "
    "ES_SCHEMA_REGISTRY_URL to an existing registry."
)


def app_dir(cache: Path, version: str) -> Path:
    """The unpacked distribution of one version (``quarkus-run.jar`` and its ``lib``)."""
    return cache / version / "app"


def is_cached(cache: Path, version: str) -> bool:
    """Whether one version is downloaded and unpacked completely."""
    return (cache / version / COMPLETE_MARKER).is_file()


def ensure_distribution(cache: Path, version: str) -> Path:
    """The unpacked registry of ``version``, downloaded with Maven and unpacked unless cached."""
    target = cache / version
    if is_cached(cache, version):
        return app_dir(cache, version)
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RegistryError(NO_MAVEN_MESSAGE)
    target.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(target / ".lock"):
        if is_cached(cache, version):
            return app_dir(cache, version)
        download = target / "download"
        shutil.rmtree(download, ignore_errors=True)
        _run_maven(mvn, version, download)
        archives = list(download.glob("*.tar.gz"))
        if len(archives) != 1:
            raise RegistryError(f"Maven left {archives or 'no archive'} in {download}: try again.")
        unpacked = app_dir(cache, version)
        shutil.rmtree(unpacked, ignore_errors=True)
        with tarfile.open(archives[0]) as archive:
            archive.extractall(unpacked, filter="data")
        if not (unpacked / "quarkus-run.jar").is_file():
            raise RegistryError(f"{archives[0]} holds no quarkus-run.jar: delete {target}.")
        archives[0].unlink()
        (target / COMPLETE_MARKER).write_text(f"{ARTIFACT.format(version=version)}\n")
    return unpacked


def _run_maven(mvn: str, version: str, download: Path) -> None:
    """``mvn dependency:copy`` of the distribution's archive into ``download``."""
    command = [
        mvn,
        "-q",
        "-B",
        "dependency:copy",
        f"-Dartifact={ARTIFACT.format(version=version)}",
        f"-DoutputDirectory={download}",
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=MAVEN_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise RegistryError(
            f"Maven did not download Apicurio Registry {version} (about 150 MB) within "
            f"{MAVEN_TIMEOUT_SECONDS} s: check access to https://repo.maven.apache.org or set "
            "a mirror in ~/.m2/settings.xml."
        ) from error
    if done.returncode != 0:
        output = _ANSI_ESCAPE.sub("", done.stdout + done.stderr).strip().splitlines()
        raise RegistryError(
            f"Maven could not download {ARTIFACT.format(version=version)} from Maven Central: "
            "check network access or the version (ES_REGISTRY_VERSION). Last lines from mvn:\n"
            + "\n".join(output[-ERROR_LINES_SHOWN:])
        )
