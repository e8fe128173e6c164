"""The queue server as a process, driven by the command line, killed with -9 and started again."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ecommerce_streams.harness.kafka import free_port
from models.queues.attributes import queue_arn
from tests.integration.operator import run_cli_blocking
from tests.web_events import unique

pytestmark = pytest.mark.integration


class QueueServer:
    """``ecommerce-streams queues serve`` of one isolated deployment."""

    def __init__(self, broker: str, log: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ES_")}
        self.env.update(
            ES_BROKER=broker,
            ES_APP_ID=unique("queues"),
            ES_TOPIC_PREFIX=f"{unique('q')}.",
            ES_QUEUE_PORT=str(free_port()),
            PYTHONUNBUFFERED="1",
        )
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and wait until it answers."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ecommerce_streams.cli", "queues", "serve"],
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while self.cli("list", check=False)[0] != 0:
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.3)

    def kill(self) -> None:
        """Kill -9, as a crash would."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``ecommerce-streams ARGS`` against this deployment."""
        return run_cli_blocking(self.env, *args)

    def dlq(self, *args: str) -> str:
        """``ecommerce-streams dlq ARGS``, which must succeed: what it printed."""
        done = self.run("dlq", *args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def cli(self, *args: str, check: bool = True) -> tuple[int, Any]:
        """``ecommerce-streams queues ARGS``: exit status and the JSON printed."""
        done = self.run("queues", *args)
        if check:
            assert done.returncode == 0, done.stderr
        text = done.stdout if done.returncode == 0 else done.stderr
        try:
            return done.returncode, json.loads(text)
        except ValueError:
            return done.returncode, text


@pytest.fixture
def server(broker: str, tmp_path: Path) -> Iterator[QueueServer]:
    """A started queue server; stopped after the test."""
    queue_server = QueueServer(broker, tmp_path / "queues.log")
    queue_server.start()
    yield queue_server
    if queue_server.process is not None and queue_server.process.poll() is None:
        queue_server.process.terminate()
        queue_server.process.wait(timeout=30)


def test_what_the_server_answered_survives_a_kill_9(server: QueueServer) -> None:
    server.cli("create", "returns", "--attribute", "VisibilityTimeout=600")
    for n in range(3):
        server.cli("send", "returns", f"return {n}")
    _, received = server.cli("receive", "returns", "--max", "2")
    leased, deleted = received["Messages"]
    server.cli("delete", "returns", deleted["ReceiptHandle"])

    server.kill()
    server.start()
    _, after = server.cli("attributes", "returns")
    _, left = server.cli("receive", "returns")

    counts = after["Attributes"]
    assert (
        counts["ApproximateNumberOfMessages"],
        counts["ApproximateNumberOfMessagesNotVisible"],
    ) == (
        "1",
        "1",
    )
    assert [m["Body"] for m in left["Messages"]] == ["return 2"]
    assert leased["Body"] == "return 0"


def test_a_refused_command_prints_sqs_s_error_and_exits_1(server: QueueServer) -> None:
    status, refusal = server.cli("send", "never-made", "hello", check=False)

    assert status == 1
    assert refusal["__type"] == "com.amazonaws.sqs#QueueDoesNotExist"


def test_dlq_shows_a_dead_letter_queues_letters_with_their_reason_and_moves_them_back(
    server: QueueServer,
) -> None:
    redrive = json.dumps({"deadLetterTargetArn": queue_arn("picks-dlq"), "maxReceiveCount": 1})
    server.cli("create", "picks-dlq")
    server.cli("create", "picks", "--attribute", f"RedrivePolicy={redrive}")
    server.cli("send", "picks", '{"order_id": "o-9"}')
    _, first = server.cli("receive", "picks", "--visibility", "0")
    _, second = server.cli("receive", "picks")
    [message] = first["Messages"]
    letter = f"picks-dlq/{message['MessageId']}"

    listed = server.dlq("list")
    shown = server.dlq("show", letter)
    moved = server.dlq("redrive", "--queue", "picks-dlq")
    _, back = server.cli("receive", "picks", "--wait", "10")

    assert second["Messages"] == []
    reason = "received 1 times and never deleted (maxReceiveCount 1)"
    assert f"{letter}  from picks  received 1  {reason}" in listed
    assert f"error:        {reason}" in shown and '"order_id": "o-9"' in shown
    assert "TaskHandle" in moved
    assert [m["Body"] for m in back["Messages"]] == ['{"order_id": "o-9"}']  # a new message
