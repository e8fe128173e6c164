"""Formatting the broker's KRaft data directory with a fresh cluster id."""

import base64
import secrets
import subprocess
from pathlib import Path

from ecommerce_streams.harness.kafka.broker_log import marker_line, tail_lines
from ecommerce_streams.harness.kafka.errors import BrokerError

FORMAT_TIMEOUT_SECONDS = 180


def new_cluster_id() -> str:
    """Return a random KRaft cluster id: 16 bytes, base64url without padding, no leading '-'."""
    while True:
        cluster_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode("ascii").rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def is_formatted(data_dir: Path) -> bool:
    """Return whether the data directory already holds KRaft metadata (meta.properties)."""
    return (data_dir / "meta.properties").is_file()


def format_storage(
    java: Path,
    logging_flag: str,
    classpath: str,
    properties: Path,
    data_dir: Path,
    log: Path,
    cluster_id: str | None = None,
) -> None:
    """Format data_dir for KRaft (a new cluster id unless given) unless it is already formatted."""
    if is_formatted(data_dir):
        return
    command = [
        str(java),
        logging_flag,
        "-cp",
        classpath,
        "kafka.tools.StorageTool",
        "format",
        "-t",
        cluster_id or new_cluster_id(),
        "-c",
        str(properties),
        "--ignore-formatted",
    ]
    with log.open("a", encoding="utf-8") as log_file:
        log_file.write(marker_line(f"formatting {data_dir}"))
        log_file.flush()
        try:
            completed = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                timeout=FORMAT_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise BrokerError(
                f"Formatting the Kafka data directory {data_dir} took longer than "
                f"{FORMAT_TIMEOUT_SECONDS} s: see {log}"
            ) from error
    if completed.returncode != 0:
        raise BrokerError(
            f"Formatting the Kafka data directory {data_dir} failed (exit {completed.returncode}); "
            f"deleting {data_dir} lets the next start format it afresh. "
            f"Last lines of {log}:\n{tail_lines(log, 30)}"
        )
