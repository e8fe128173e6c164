"""Unit tests: stop, kill and status only ever act on the recorded kafka.Kafka process."""

import subprocess
import sys

from ecommerce_streams.harness.kafka import EmbeddedKafka, free_port
from ecommerce_streams.harness.kafka.broker_process import is_alive


def idle_broker(home) -> EmbeddedKafka:
    """Return an EmbeddedKafka that was never started, on free ports under home."""
    return EmbeddedKafka(version="4.4.0", port=free_port(), controller_port=free_port(), home=home)


def test_stop_without_a_broker_returns_false(tmp_path):
    broker = idle_broker(tmp_path)
    assert broker.stop() is False
    assert broker.status()["running"] is False
    assert broker.status()["pid"] is None
    assert broker.log_tail() == ""


def test_stop_never_signals_a_recorded_pid_that_is_not_kafka(tmp_path):
    broker = idle_broker(tmp_path)
    broker.run_dir.mkdir(parents=True)
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        broker.pid_file.write_text(f"{bystander.pid}\n")
        assert broker.status()["running"] is False
        assert broker.stop() is False
        broker.pid_file.write_text(f"{bystander.pid}\n")
        broker.kill()
        assert is_alive(bystander.pid)
        assert bystander.poll() is None
        assert not broker.pid_file.exists()
    finally:
        bystander.kill()
        bystander.wait()


def test_status_reports_where_the_log_and_data_live(tmp_path):
    broker = idle_broker(tmp_path)
    status = broker.status()
    assert status["version"] == "4.4.0"
    assert status["bootstrap"] == f"127.0.0.1:{broker.port}"
    assert status["log_path"] == str(broker.run_dir / "broker.log")
    assert status["data_dir"] == str(broker.run_dir / "data")


def test_log_tail_returns_the_last_lines(tmp_path):
    broker = idle_broker(tmp_path)
    broker.run_dir.mkdir(parents=True)
    broker.log_path.write_text("".join(f"line {n}\n" for n in range(100)))
    assert broker.log_tail(3) == "line 97\nline 98\nline 99\n"
