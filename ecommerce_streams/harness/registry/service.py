"""The embedded schema registry as a process: Apicurio Registry on Java 21+, kafkasql storage.

Its schemas live in a compacted journal topic of our broker (``kafkasql``), so a restart,
or a second replica on the same topic, sees every schema registered before. It listens
on 127.0.0.1 only: the REST API on ``port`` (Confluent's API under ``/apis/ccompat/v7``),
health and metrics on ``management_port``.
"""

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecommerce_streams.harness.kafka.broker_log import marker_line, tail_lines
from ecommerce_streams.harness.kafka.broker_process import (
    is_alive,
    read_pid,
    send_signal,
    terminate,
    wait_for_exit,
    write_pid,
)
from ecommerce_streams.harness.kafka.file_lock import exclusive_lock
from ecommerce_streams.harness.kafka.ports import port_is_free
from ecommerce_streams.harness.kafka.server_config import LOOPBACK
from ecommerce_streams.harness.registry.distribution import ensure_distribution
from ecommerce_streams.harness.registry.errors import RegistryError
from ecommerce_streams.harness.registry.java import find_java
from ecommerce_streams.settings import Settings

DEFAULT_VERSION = "3.3.3"
MINIMUM_JAVA = 21
FAILURE_LOG_LINES = 40
CCOMPAT_PATH = "/apis/ccompat/v7"


def default_home(configured: Path | None = None) -> Path:
    """ES_REGISTRY_HOME, else <XDG_CACHE_HOME or ~/.cache>/ecommerce-streams/registry."""
    if configured is not None:
        return configured.expanduser()
    cache = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(cache) if cache else Path.home() / ".cache") / "ecommerce-streams" / "registry"


@dataclass
class EmbeddedRegistry:
    """One Apicurio Registry process on 127.0.0.1, its journal on ``bootstrap``."""

    bootstrap: str
    home: Path
    port: int = 8081
    management_port: int = 9081
    version: str = DEFAULT_VERSION
    journal_topic: str = "schema-registry-journal"
    heap: str = "384m"
    compatibility: str = "BACKWARD"
    dist_dir: Path | None = None
    """Where distributions are cached [default: ``home/dist``]."""
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @classmethod
    def of(cls, settings: Settings, bootstrap: str) -> "EmbeddedRegistry":
        """The embedded registry ES_REGISTRY_* configure, its journal on ``bootstrap``."""
        return cls(
            bootstrap,
            default_home(settings.registry_home),
            port=settings.registry_port,
            management_port=settings.registry_management_port,
            journal_topic=f"{settings.topic_prefix}schema-registry-journal",
            compatibility=settings.schema_compatibility,
        )

    @property
    def run_dir(self) -> Path:
        """This registry's pid file and log."""
        return self.home / "run" / str(self.port)

    @property
    def log_path(self) -> Path:
        """The registry's stdout and stderr."""
        return self.run_dir / "registry.log"

    @property
    def pid_file(self) -> Path:
        """The file recording the registry JVM's pid."""
        return self.run_dir / "registry.pid"

    @property
    def url(self) -> str:
        """The registry's base URL (Confluent-compatible clients add ``/apis/ccompat/v7``)."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def ccompat_url(self) -> str:
        """The Confluent Schema Registry API of this registry."""
        return self.url + CCOMPAT_PATH

    def start(self, timeout: float = 180) -> str:
        """Start (or reuse) the registry, wait until it answers; return its ccompat URL."""
        java = find_java(
            MINIMUM_JAVA,
            f"The embedded schema registry (Apicurio Registry {self.version})",
            otherwise=", or set ES_SCHEMA_REGISTRY_URL to an existing registry",
        )
        app = ensure_distribution(self.dist_dir or self.home / "dist", self.version)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(self.run_dir / ".lock"):
            pid = self._running_pid()
            if pid is None:
                for port, setting in (
                    (self.port, "ES_REGISTRY_PORT"),
                    (self.management_port, "ES_REGISTRY_MANAGEMENT_PORT"),
                ):
                    if not port_is_free(port):
                        raise RegistryError(
                            f"port {port} is taken: stop what listens there or set {setting}"
                        )
                pid = self._launch(java, app)
            try:
                self._await_ready(pid, timeout)
            except BaseException:
                self.stop()
                raise
        return self.ccompat_url

    def stop(self, timeout: float = 30) -> bool:
        """SIGTERM the registry (SIGKILL after timeout); return whether one was running."""
        pid = self._running_pid()
        if pid is not None:
            with self.log_path.open("a", encoding="utf-8") as log:
                log.write(marker_line(f"stopping pid {pid}"))
            terminate(pid, timeout)
            if self._process is not None:
                self._process.wait(timeout=5)
                self._process = None
        self.pid_file.unlink(missing_ok=True)
        return pid is not None

    def kill(self) -> None:
        """SIGKILL the registry at once (for tests of what survives a crash)."""
        pid = self._running_pid()
        if pid is not None:
            send_signal(pid, signal.SIGKILL)
            wait_for_exit(pid, 30)
        self.pid_file.unlink(missing_ok=True)

    def status(self) -> dict[str, Any]:
        """Whether it runs, its pid, URLs, version, journal topic and log."""
        pid = self._running_pid()
        return {
            "running": pid is not None,
            "pid": pid,
            "url": self.ccompat_url,
            "version": self.version,
            "bootstrap": self.bootstrap,
            "journal_topic": self.journal_topic,
            "log_path": str(self.log_path),
        }

    def log_tail(self, lines: int = 50) -> str:
        """The last lines of the registry's log."""
        return tail_lines(self.log_path, lines)

    def _running_pid(self) -> int | None:
        pid = read_pid(self.pid_file)
        if pid is None or not is_alive(pid):
            return None
        try:
            arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return None
        return pid if f"-Dquarkus.http.port={self.port}".encode() in arguments else None

    def _launch(self, java: Path, app: Path) -> int:
        properties = {
            "quarkus.http.host": LOOPBACK,
            "quarkus.http.port": self.port,
            "quarkus.management.host": LOOPBACK,
            "quarkus.management.port": self.management_port,
            "apicurio.storage.kind": "kafkasql",
            "apicurio.kafkasql.bootstrap.servers": self.bootstrap,
            "apicurio.kafkasql.topic": self.journal_topic,
            "apicurio.kafkasql.snapshots.topic": f"{self.journal_topic}-snapshots",
            "apicurio.rules.global.compatibility": self.compatibility,
        }
        command = [
            str(java),
            f"-Xmx{self.heap}",
            "-XX:+ExitOnOutOfMemoryError",
            *(f"-D{name}={value}" for name, value in properties.items()),
            "-jar",
            str(app / "quarkus-run.jar"),
        ]
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(marker_line(f"starting Apicurio Registry {self.version} on {self.url}"))
            log.flush()
            self._process = subprocess.Popen(
                command,
                cwd=app,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        write_pid(self.pid_file, self._process.pid)
        return self._process.pid

    def _await_ready(self, pid: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if not is_alive(pid) or (
                self._process is not None and self._process.poll() is not None
            ):
                raise RegistryError(
                    f"The schema registry died at start (pid {pid}). Last {FAILURE_LOG_LINES} "
                    f"lines of {self.log_path}:\n{self.log_tail(FAILURE_LOG_LINES)}"
                )
            ready = f"http://{LOOPBACK}:{self.management_port}/health/ready"
            if answers(ready) and answers(self.ccompat_url + "/subjects"):
                return  # ready: its storage has read the journal back
            if time.monotonic() > deadline:
                raise RegistryError(
                    f"The schema registry (pid {pid}) did not answer within {timeout:.0f} s. "
                    f"Last {FAILURE_LOG_LINES} lines of {self.log_path}:\n"
                    f"{self.log_tail(FAILURE_LOG_LINES)}"
                )
            time.sleep(0.5)


def answers(url: str) -> bool:
    """Whether a GET of ``url`` answers 200 with JSON."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            json.loads(response.read())
            return bool(response.status == 200)
    except (OSError, ValueError, urllib.error.URLError):
        return False
