"""The broker JVM as an operating-system process: its pid file, liveness and signals."""

import contextlib
import os
import signal
import time
from pathlib import Path

BROKER_MAIN_CLASS = "kafka.Kafka"


def read_pid(pid_file: Path) -> int | None:
    """Return the pid recorded in a pid file, or None when missing or unreadable."""
    try:
        return int(pid_file.read_text(encoding="ascii").strip())
    except (FileNotFoundError, ValueError):
        return None


def write_pid(pid_file: Path, pid: int) -> None:
    """Record a pid, replacing the pid file atomically."""
    partial = pid_file.with_name(pid_file.name + ".partial")
    partial.write_text(f"{pid}\n", encoding="ascii")
    partial.replace(pid_file)


def is_alive(pid: int) -> bool:
    """Return whether a process exists and is not a zombie, reaping it if it is our child."""
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    except ChildProcessError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X")


def is_our_broker(pid: int, server_properties: Path) -> bool:
    """Return whether pid is a kafka.Kafka JVM started with this server.properties file."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    arguments = [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]
    return BROKER_MAIN_CLASS in arguments and str(server_properties) in arguments


def wait_for_exit(pid: int, timeout: float) -> bool:
    """Wait up to timeout seconds for a process to exit; return whether it did."""
    deadline = time.monotonic() + timeout
    while is_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def send_signal(pid: int, signal_number: signal.Signals) -> None:
    """Send a signal to one process, ignoring a process that has already gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal_number)


def terminate(pid: int, timeout: float) -> None:
    """SIGTERM a process, then SIGKILL it if it is still alive after timeout seconds."""
    send_signal(pid, signal.SIGTERM)
    if not wait_for_exit(pid, timeout):
        send_signal(pid, signal.SIGKILL)
        wait_for_exit(pid, 30)
