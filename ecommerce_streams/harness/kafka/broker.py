"""EmbeddedKafka: one single-node KRaft broker on 127.0.0.1, started from cached Maven jars."""

import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecommerce_streams.harness.kafka.broker_log import marker_line, tail_lines
from ecommerce_streams.harness.kafka.broker_process import (
    BROKER_MAIN_CLASS,
    is_alive,
    is_our_broker,
    read_pid,
    send_signal,
    terminate,
    wait_for_exit,
    write_pid,
)
from ecommerce_streams.harness.kafka.distribution import ensure_jars, jars_are_cached
from ecommerce_streams.harness.kafka.environment import (
    default_controller_port,
    default_home,
    default_port,
)
from ecommerce_streams.harness.kafka.errors import BrokerError
from ecommerce_streams.harness.kafka.file_lock import exclusive_lock
from ecommerce_streams.harness.kafka.ports import require_free_port
from ecommerce_streams.harness.kafka.readiness import BrokerExited, wait_until_ready_blocking
from ecommerce_streams.harness.kafka.server_config import (
    LOOPBACK,
    logging_config_name,
    logging_config_text,
    render_server_properties,
    server_settings,
)
from ecommerce_streams.harness.kafka.storage import format_storage
from ecommerce_streams.harness.kafka.toolchain import require_java, require_maven
from ecommerce_streams.harness.kafka.versions import (
    kafka_version_from_env,
    logging_binding,
    version_numbers,
)

PORT_SETTING = "ES_KAFKA_PORT"
CONTROLLER_PORT_SETTING = "ES_KAFKA_CONTROLLER_PORT"
FAILURE_LOG_LINES = 30
KILL_WAIT_SECONDS = 30.0

_HEAP_PATTERN = re.compile(r"^\d+[kKmMgG]?$")
GC_OPTIONS = (
    "-XX:+UseG1GC",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
)
"""Kafka's start-script collector settings, less its 20 ms pause goal (see jvm_options)."""


def jvm_options(heap: str) -> list[str]:
    """The broker JVM's options: a fixed heap of ``heap`` (-Xms = -Xmx, as Kafka's scripts set).

    Given only -Xmx, G1 kept about 100 MB committed for the 50-60 MB a broker holds
    live and marked concurrently every second or two: 41-51 young collections in a bench
    run, 15-16 with the heap fixed, and 40 % less time in pauses. Kafka's 20 ms pause goal
    is left out: on a 512 MB heap it shrank the young generation until G1 collected every
    0.5-1 s (44 collections).
    """
    return [
        f"-Xms{heap}",
        f"-Xmx{heap}",
        *GC_OPTIONS,
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
    ]


@dataclass
class EmbeddedKafka:
    """A single-node KRaft Kafka broker on 127.0.0.1 whose jars come from Maven Central."""

    version: str = field(default_factory=kafka_version_from_env)
    port: int = field(default_factory=default_port)
    controller_port: int = field(default_factory=default_controller_port)
    home: Path = field(default_factory=default_home)
    heap: str = "512m"
    dist_dir: Path | None = None
    node_id: int = 1
    voters: str | None = None
    """The quorum this node belongs to (``controller.quorum.voters``); None: it alone."""
    replicas: int = 1
    """Nodes in its cluster: the replication of topics, offsets and transaction state."""
    cluster_id: str | None = None
    """The cluster id a new data directory is formatted with (None: a new one)."""
    _process: subprocess.Popen[bytes] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        """Validate the settings and make every path absolute."""
        version_numbers(self.version)
        for name, value in (("port", self.port), ("controller_port", self.controller_port)):
            if not 1 <= value <= 65535:
                raise BrokerError(f"{name}={value} is not a TCP port: use 1 to 65535")
        if self.port == self.controller_port:
            raise BrokerError(
                f"port and controller_port are both {self.port}: the broker needs two different "
                f"ports (set {PORT_SETTING} and {CONTROLLER_PORT_SETTING} to different values)"
            )
        if not _HEAP_PATTERN.match(self.heap):
            raise BrokerError(f"heap={self.heap!r} is not a JVM size like 512m or 1g")
        self.home = Path(self.home).expanduser().resolve()
        self.dist_dir = Path(self.dist_dir).expanduser().resolve() if self.dist_dir else None

    @property
    def jar_cache_dir(self) -> Path:
        """Directory of per-version jar sets (dist_dir, or home/dist by default)."""
        return self.dist_dir or self.home / "dist"

    @property
    def run_dir(self) -> Path:
        """Directory of this broker's state: configs, data, log and pid file."""
        return self.home / "run" / str(self.port)

    @property
    def data_dir(self) -> Path:
        """The broker's KRaft log directory."""
        return self.run_dir / "data"

    @property
    def log_path(self) -> Path:
        """The broker's combined stdout/stderr log file."""
        return self.run_dir / "broker.log"

    @property
    def pid_file(self) -> Path:
        """The file recording the broker JVM's pid."""
        return self.run_dir / "broker.pid"

    @property
    def server_properties_path(self) -> Path:
        """The broker's server.properties file."""
        return self.run_dir / "server.properties"

    @property
    def bootstrap(self) -> str:
        """The bootstrap address clients use: 127.0.0.1:<port>."""
        return f"{LOOPBACK}:{self.port}"

    def ensure_jars(self) -> Path:
        """Download this version's jars with Maven unless cached; return the jar directory."""
        return ensure_jars(self.version, self.jar_cache_dir)

    def start(self, timeout: float = 120) -> str:
        """Start (or reuse) the broker, wait until a transaction commits, return the bootstrap."""
        require_java()  # before anything is written
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(self.run_dir / ".lock"):
            pid = self.launch()
            try:
                self.await_ready(pid, timeout)
            except BaseException:
                if self._is_alive(pid):
                    self._end_process(pid, signal.SIGKILL, KILL_WAIT_SECONDS)
                self.pid_file.unlink(missing_ok=True)
                raise
        return self.bootstrap

    def launch(self) -> int:
        """Start the broker JVM unless it runs (formatting a new data directory): its pid.

        Returns at once: a node of a cluster is only ready once its quorum is up.
        """
        running_pid = self._running_pid()
        if running_pid is not None:
            return running_pid
        java = require_java()
        if not jars_are_cached(self.jar_cache_dir, self.version):
            require_maven()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.pid_file.unlink(missing_ok=True)
        require_free_port(self.port, PORT_SETTING, "broker")
        require_free_port(self.controller_port, CONTROLLER_PORT_SETTING, "controller")
        classpath = f"{self.ensure_jars()}/*"
        logging_config = self._write_configuration()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        format_storage(
            java,
            self._logging_flag(logging_config),
            classpath,
            self.server_properties_path,
            self.data_dir,
            self.log_path,
            self.cluster_id,
        )
        return self._launch(java, classpath, logging_config)

    def stop(self, timeout: float = 30) -> bool:
        """SIGTERM the broker (SIGKILL after timeout); return whether a broker was stopped."""
        pid = self._running_pid()
        if pid is not None:
            self._end_process(pid, signal.SIGTERM, timeout)
        self.pid_file.unlink(missing_ok=True)
        return pid is not None

    def kill(self) -> None:
        """SIGKILL the broker at once, as a crash would (for chaos tests)."""
        pid = self._running_pid()
        if pid is not None:
            self._end_process(pid, signal.SIGKILL, KILL_WAIT_SECONDS)
        self.pid_file.unlink(missing_ok=True)

    def restart(self, timeout: float = 120) -> str:
        """Stop the broker if it runs, then start it again; return the bootstrap address."""
        self.stop()
        return self.start(timeout)

    def reset(self) -> None:
        """Stop the broker and delete its data, so the next start formats a fresh cluster."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def status(self) -> dict[str, Any]:
        """Return whether the broker runs, its pid, bootstrap, version, log path and data dir."""
        pid = self._running_pid()
        return {
            "running": pid is not None,
            "pid": pid,
            "bootstrap": self.bootstrap,
            "version": self.version,
            "port": self.port,
            "controller_port": self.controller_port,
            "log_path": str(self.log_path),
            "data_dir": str(self.data_dir),
        }

    def log_tail(self, lines: int = 50) -> str:
        """Return the last lines of the broker log (empty when there is no log yet)."""
        return tail_lines(self.log_path, lines)

    def _running_pid(self) -> int | None:
        """Return the recorded pid if it is a live kafka.Kafka JVM running this config."""
        pid = read_pid(self.pid_file)
        if pid is None or not self._is_alive(pid):
            return None
        if not is_our_broker(pid, self.server_properties_path):
            return None
        return pid

    def _is_alive(self, pid: int) -> bool:
        """Return whether pid is alive, polling our own child process when it is one."""
        if self._process is not None and self._process.pid == pid:
            return self._process.poll() is None
        return is_alive(pid)

    def _write_configuration(self) -> Path:
        """Write server.properties and the logging config into the run dir; return the latter."""
        self.server_properties_path.write_text(
            render_server_properties(
                server_settings(
                    self.version,
                    self.port,
                    self.controller_port,
                    self.data_dir,
                    node_id=self.node_id,
                    voters=self.voters,
                    replicas=self.replicas,
                )
            ),
            encoding="utf-8",
        )
        logging_config = self.run_dir / logging_config_name(self.version)
        logging_config.write_text(logging_config_text(self.version), encoding="utf-8")
        return logging_config

    def _logging_flag(self, logging_config: Path) -> str:
        """Return the JVM flag that makes Kafka log with our configuration file."""
        return logging_binding(self.version).jvm_flag(str(logging_config))

    def _launch(self, java: Path, classpath: str, logging_config: Path) -> int:
        """Start the broker JVM detached in its own session, record and return its pid."""
        command = [
            str(java),
            *jvm_options(self.heap),
            self._logging_flag(logging_config),
            "-cp",
            classpath,
            BROKER_MAIN_CLASS,
            str(self.server_properties_path),
        ]
        with self.log_path.open("a", encoding="utf-8") as log_file:
            log_file.write(marker_line(f"starting Kafka {self.version} on {self.bootstrap}"))
            log_file.flush()
            self._process = subprocess.Popen(
                command,
                cwd=self.run_dir,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        write_pid(self.pid_file, self._process.pid)
        return self._process.pid

    def await_ready(self, pid: int, timeout: float, bootstrap: str | None = None) -> None:
        """Wait until a transactional produce commits; raise BrokerError with the log tail."""
        deadline = time.monotonic() + timeout
        try:
            wait_until_ready_blocking(
                bootstrap or self.bootstrap,
                f"__es_ready-{self.port}",
                deadline,
                lambda: self._is_alive(pid),
            )
        except BrokerExited as error:
            raise BrokerError(
                f"The Kafka {self.version} broker died at start (pid {pid}). "
                f"Last {FAILURE_LOG_LINES} lines of {self.log_path}:\n"
                f"{self.log_tail(FAILURE_LOG_LINES)}"
            ) from error
        except TimeoutError as error:
            raise BrokerError(
                f"The Kafka {self.version} broker (pid {pid}) did not commit a transactional "
                f"write within {timeout:.0f} s ({error}); try a longer timeout. "
                f"Last {FAILURE_LOG_LINES} lines of {self.log_path}:\n"
                f"{self.log_tail(FAILURE_LOG_LINES)}"
            ) from error

    def _end_process(self, pid: int, first_signal: signal.Signals, timeout: float) -> None:
        """Signal the broker pid (escalating to SIGKILL) and wait until it has exited."""
        with self.log_path.open("a", encoding="utf-8") as log_file:
            log_file.write(marker_line(f"sending {first_signal.name} to pid {pid}"))
        if first_signal == signal.SIGKILL:
            send_signal(pid, signal.SIGKILL)
            wait_for_exit(pid, timeout)
        else:
            terminate(pid, timeout)
        if self._process is not None and self._process.pid == pid:
            self._process.wait(timeout=KILL_WAIT_SECONDS)
            self._process = None
