"""Restore time is read back from the lines the restorer logs."""

from ecommerce_streams.exactly_once.table_recovery import RESTORED, restore_seconds


def line(records: int, seconds: float) -> str:
    """One restore pass as a worker logs it."""
    return f"[2026-11-27 14:14:17,429] [15042] [INFO] {RESTORED % (records, 5, 5, seconds, 0)}"


def test_restore_time_sums_every_pass_in_the_log() -> None:
    log = "\n".join([line(8221, 0.12), "[...] [INFO] Worker ready", line(0, 0.03)])
    assert restore_seconds(log) == 0.12 + 0.03


def test_a_log_without_a_restore_has_no_restore_time() -> None:
    assert restore_seconds("[...] [INFO] Worker ready\n") is None
