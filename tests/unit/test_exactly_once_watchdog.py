"""A worker that cannot make progress exits within a bounded time, so it is restarted."""

from ecommerce_streams.exactly_once import ProcessingGate, Watchdog

STALL = 30.0
GRACE = 20.0


def watchdog() -> Watchdog:
    """The watchdog as the chaos runs configure it."""
    return Watchdog(stall_seconds=STALL, grace_seconds=GRACE)


def verdict(
    dog: Watchdog,
    now: float,
    *,
    crashed: bool = False,
    stop_requested_at: float | None = None,
    stalled_for: float = 0.0,
    settling: bool = False,
    last_work: float = 0.0,
) -> str | None:
    """Ask the watchdog at ``now`` with a healthy worker unless told otherwise."""
    return dog.verdict(
        now,
        crashed=crashed,
        stop_requested_at=stop_requested_at,
        stalled_for=stalled_for,
        settling=settling,
        last_work=last_work,
    )


async def test_commits_are_not_progress_of_a_rebalance() -> None:
    gate = ProcessingGate()
    before = gate.last_work
    async with gate.exclusive():  # Faust keeps committing while a revocation waits
        pass
    assert gate.last_work == before


async def test_a_finished_unit_of_work_is_progress() -> None:
    gate = ProcessingGate()
    before = gate.last_work
    async with gate.unit():
        pass
    assert gate.last_work > before


def test_a_rebalance_that_processes_and_restores_nothing_ends_the_worker() -> None:
    dog = watchdog()
    assert verdict(dog, 100.0, settling=True) is None
    assert verdict(dog, 100.0 + 2 * STALL - 1, settling=True) is None
    reason = verdict(dog, 100.0 + 2 * STALL + 1, settling=True)
    assert reason is not None and "rebalance" in reason


def test_a_rebalance_that_keeps_restoring_is_alive() -> None:
    dog = watchdog()
    for now in range(100, 1000, 10):
        assert verdict(dog, float(now), settling=True, last_work=float(now) - 5) is None


def test_a_new_rebalance_starts_a_new_count() -> None:
    dog = watchdog()
    assert verdict(dog, 100.0, settling=True) is None
    assert verdict(dog, 150.0) is None  # the rebalance ended
    assert verdict(dog, 160.0 + 2 * STALL - 1, settling=True) is None


def test_a_worker_asked_to_stop_that_does_not_exits_after_the_grace_period() -> None:
    dog = watchdog()
    assert verdict(dog, 100.0 + GRACE - 1, stop_requested_at=100.0) is None
    reason = verdict(dog, 100.0 + GRACE + 1, stop_requested_at=100.0)
    assert reason is not None and "asked to stop" in reason


def test_a_crashed_worker_that_does_not_stop_exits_after_the_grace_period() -> None:
    dog = watchdog()
    assert verdict(dog, 100.0, crashed=True) is None
    reason = verdict(dog, 100.0 + GRACE + 1, crashed=True)
    assert reason is not None and "crashed" in reason


def test_a_unit_of_work_stalled_past_the_timeout_ends_the_worker() -> None:
    dog = watchdog()
    assert verdict(dog, 100.0, stalled_for=STALL - 1) is None
    assert verdict(dog, 100.0, stalled_for=STALL + 1) is not None
