"""A circuit breaker per endpoint: closed admits, opens on failures, rests, then tries once."""

import pytest

from models.delivery.circuit_breaker import BreakerState, CircuitBreaker

T0 = 1_000.0


def opened(threshold: int = 3, cooldown: float = 30.0, at: float = T0) -> CircuitBreaker:
    """A breaker that has just opened at ``at`` after ``threshold`` consecutive failures."""
    breaker = CircuitBreaker(failure_threshold=threshold, cooldown_seconds=cooldown)
    for _ in range(threshold):
        assert breaker.admit(at)
        breaker.failed(at)
    assert breaker.state(at) is BreakerState.OPEN
    return breaker


def test_a_new_breaker_is_closed_and_admits_every_delivery():
    breaker = CircuitBreaker()

    assert breaker.state(T0) is BreakerState.CLOSED
    assert all(breaker.admit(T0 + i) for i in range(100))
    assert breaker.wait_seconds(T0) == 0.0


def test_the_defaults_are_five_failures_and_thirty_seconds():
    breaker = CircuitBreaker()

    assert breaker.failure_threshold == 5
    assert breaker.cooldown_seconds == 30.0


def test_failures_below_the_threshold_keep_it_closed():
    breaker = CircuitBreaker(failure_threshold=3)

    breaker.failed(T0)
    breaker.failed(T0 + 1)

    assert breaker.state(T0 + 1) is BreakerState.CLOSED
    assert breaker.admit(T0 + 1)


@pytest.mark.parametrize("threshold", [1, 2, 3, 5, 10])
def test_it_opens_after_failure_threshold_consecutive_failures(threshold):
    breaker = CircuitBreaker(failure_threshold=threshold)

    for i in range(threshold - 1):
        breaker.failed(T0 + i)
        assert breaker.state(T0 + i) is BreakerState.CLOSED
    breaker.failed(T0 + threshold)

    assert breaker.state(T0 + threshold) is BreakerState.OPEN
    assert not breaker.admit(T0 + threshold)


def test_a_success_in_between_resets_the_failure_count():
    breaker = CircuitBreaker(failure_threshold=3)

    breaker.failed(T0)
    breaker.failed(T0 + 1)
    breaker.succeeded()
    breaker.failed(T0 + 2)
    breaker.failed(T0 + 3)

    assert breaker.failures == 2
    assert breaker.state(T0 + 3) is BreakerState.CLOSED
    breaker.failed(T0 + 4)
    assert breaker.state(T0 + 4) is BreakerState.OPEN


def test_alternating_failures_and_successes_never_open_it():
    breaker = CircuitBreaker(failure_threshold=2)

    for i in range(50):
        assert breaker.admit(T0 + i)
        if i % 2:
            breaker.succeeded()
        else:
            breaker.failed(T0 + i)

    assert breaker.state(T0 + 50) is BreakerState.CLOSED


def test_open_admits_nothing_for_the_whole_cooldown():
    breaker = opened(cooldown=30.0)

    for t in (0.0, 0.001, 1.0, 15.0, 29.0, 29.999):
        assert breaker.state(T0 + t) is BreakerState.OPEN
        assert not breaker.admit(T0 + t)


def test_after_the_cooldown_it_is_half_open():
    breaker = opened(cooldown=30.0)

    assert breaker.state(T0 + 30.0) is BreakerState.HALF_OPEN
    assert breaker.state(T0 + 3600.0) is BreakerState.HALF_OPEN


def test_half_open_admits_exactly_one_trial():
    breaker = opened(cooldown=30.0)

    admitted = [breaker.admit(T0 + 30.0 + i) for i in range(10)]

    assert admitted == [True] + [False] * 9
    assert breaker.state(T0 + 40.0) is BreakerState.HALF_OPEN


def test_a_successful_trial_closes_it_and_it_admits_everything_again():
    breaker = opened(cooldown=30.0)
    assert breaker.admit(T0 + 30.0)

    breaker.succeeded()

    assert breaker.state(T0 + 31.0) is BreakerState.CLOSED
    assert all(breaker.admit(T0 + 31.0) for _ in range(10))
    assert breaker.wait_seconds(T0 + 31.0) == 0.0


def test_after_closing_it_takes_a_full_threshold_of_failures_to_open_again():
    breaker = opened(threshold=3, cooldown=30.0)
    assert breaker.admit(T0 + 30.0)
    breaker.succeeded()

    breaker.failed(T0 + 31.0)
    breaker.failed(T0 + 32.0)
    assert breaker.state(T0 + 32.0) is BreakerState.CLOSED

    breaker.failed(T0 + 33.0)
    assert breaker.state(T0 + 33.0) is BreakerState.OPEN


def test_a_failed_trial_reopens_it_for_a_new_full_cooldown():
    breaker = opened(cooldown=30.0)
    trial_at = T0 + 45.0
    assert breaker.admit(trial_at)

    breaker.failed(trial_at + 2.0)  # the trial took two seconds to fail

    reopened = trial_at + 2.0
    assert breaker.state(reopened) is BreakerState.OPEN
    assert breaker.wait_seconds(reopened) == 30.0
    assert not breaker.admit(reopened + 29.999)
    assert breaker.state(reopened + 30.0) is BreakerState.HALF_OPEN
    assert breaker.admit(reopened + 30.0)


def test_after_a_failed_trial_the_next_half_open_again_admits_exactly_one_trial():
    breaker = opened(cooldown=30.0)
    assert breaker.admit(T0 + 30.0)
    breaker.failed(T0 + 30.0)

    admitted = [breaker.admit(T0 + 60.0 + i) for i in range(5)]

    assert admitted == [True, False, False, False, False]


def test_wait_seconds_counts_down_to_zero_over_the_cooldown():
    breaker = opened(cooldown=30.0)

    waits = [breaker.wait_seconds(T0 + t) for t in (0.0, 10.0, 20.0, 29.5, 30.0, 31.0, 500.0)]

    assert waits == [30.0, 20.0, 10.0, 0.5, 0.0, 0.0, 0.0]


def test_wait_seconds_never_goes_negative_and_never_rises_while_open():
    breaker = opened(cooldown=7.5)

    waits = [breaker.wait_seconds(T0 + step / 10) for step in range(200)]

    assert all(w >= 0.0 for w in waits)
    assert waits == sorted(waits, reverse=True)
    assert waits[-1] == 0.0


def test_wait_seconds_reaches_zero_exactly_when_it_admits_again():
    breaker = opened(cooldown=30.0)

    for step in range(400):
        now = T0 + step / 10
        assert (breaker.wait_seconds(now) == 0.0) == (breaker.state(now) is BreakerState.HALF_OPEN)
    assert breaker.admit(T0 + 30.0)


def test_wait_seconds_is_zero_only_when_a_delivery_would_be_admitted():
    breaker = opened(cooldown=30.0)
    assert breaker.admit(T0 + 30.0)  # the trial is under way

    now = T0 + 31.0
    assert (breaker.wait_seconds(now) == 0.0) == breaker.admit(now)


def test_time_is_given_never_read_so_the_same_calls_give_the_same_states():
    def trace() -> list[tuple[BreakerState, bool]]:
        breaker = CircuitBreaker(failure_threshold=2, cooldown_seconds=5.0)
        seen = []
        for step in range(40):
            now = T0 + step
            admitted = breaker.admit(now)
            seen.append((breaker.state(now), admitted))
            if admitted:
                if step % 7 == 6:
                    breaker.succeeded()
                else:
                    breaker.failed(now)
        return seen

    assert trace() == trace()


def test_a_breaker_state_is_its_string_value():
    assert [s.value for s in BreakerState] == ["closed", "open", "half-open"]
    assert BreakerState.HALF_OPEN == "half-open"
