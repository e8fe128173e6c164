"""When a delivery is tried again: AWS's RetryPolicy bounds, full-jitter backoff, HTTP answers."""

import math
import random
import sys
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.delivery.retry_policy import (
    MAX_EVENT_AGE_SECONDS,
    MAX_RETRY_ATTEMPTS,
    MIN_EVENT_AGE_SECONDS,
    Answer,
    InvalidRetryPolicy,
    RetryPolicy,
    Verdict,
    judge_answer,
    next_retry,
    parse_retry_after,
)

NOW = datetime(2026, 10, 21, 7, 0, tzinfo=UTC)
HTTP_DATE = "Wed, 21 Oct 2026 07:28:00 GMT"  # 28 minutes after NOW
SEEDS = range(200)

RETRY = Answer(Verdict.RETRY, "HTTP 503")
DELIVERED = Answer(Verdict.DELIVERED, "HTTP 200")
GIVE_UP = Answer(Verdict.GIVE_UP, "HTTP 404")


class CeilingRandom(random.Random):
    """A random source whose jitter always lands on the ceiling, and records what it was asked."""

    def __init__(self) -> None:
        super().__init__(0)
        self.asked: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.asked.append((a, b))
        return b


class FloorRandom(random.Random):
    """A random source whose jitter always lands on 0."""

    def uniform(self, a: float, b: float) -> float:
        return a


def ceiling(policy: RetryPolicy, retries_done: int) -> float:
    """The documented upper bound of the jitter: min(cap, base * 2**retries)."""
    return min(policy.max_delay_seconds, policy.base_delay_seconds * 2.0**retries_done)


# RetryPolicy: the bounds AWS documents


def test_the_default_policy_is_aws_default_of_185_retries_within_a_day():
    policy = RetryPolicy()

    assert policy.maximum_retry_attempts == 185 == MAX_RETRY_ATTEMPTS
    assert policy.maximum_event_age_seconds == 86_400 == MAX_EVENT_AGE_SECONDS
    assert MIN_EVENT_AGE_SECONDS == 60


@pytest.mark.parametrize("attempts", [0, 1, 92, 184, 185])
def test_maximum_retry_attempts_from_0_to_185_are_accepted(attempts):
    assert RetryPolicy(maximum_retry_attempts=attempts).maximum_retry_attempts == attempts


@pytest.mark.parametrize("attempts", [-1, 186, 1000, -(10**9)])
def test_maximum_retry_attempts_outside_0_to_185_are_refused_naming_the_field(attempts):
    with pytest.raises(InvalidRetryPolicy, match="MaximumRetryAttempts") as refused:
        RetryPolicy(maximum_retry_attempts=attempts)

    assert str(attempts) in str(refused.value)


@pytest.mark.parametrize("age", [60, 61, 3600, 86_399, 86_400])
def test_maximum_event_age_from_60_to_86400_seconds_is_accepted(age):
    assert RetryPolicy(maximum_event_age_seconds=age).maximum_event_age_seconds == age


@pytest.mark.parametrize("age", [-1, 0, 59, 86_401, 10**9])
def test_maximum_event_age_outside_60_to_86400_seconds_is_refused_naming_the_field(age):
    with pytest.raises(InvalidRetryPolicy, match="MaximumEventAgeInSeconds") as refused:
        RetryPolicy(maximum_event_age_seconds=age)

    assert str(age) in str(refused.value)


def test_a_nan_event_age_is_refused():
    with pytest.raises(InvalidRetryPolicy, match="MaximumEventAgeInSeconds"):
        RetryPolicy(maximum_event_age_seconds=math.nan)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("base", "cap"), [(0.0, 300.0), (-1.0, 300.0), (301.0, 300.0), (math.nan, 300.0)]
)
def test_a_base_delay_that_is_not_positive_or_exceeds_the_cap_is_refused(base, cap):
    with pytest.raises(InvalidRetryPolicy, match="base delay"):
        RetryPolicy(base_delay_seconds=base, max_delay_seconds=cap)


def test_a_targets_limits_replace_the_services_attempts_and_age_but_keep_its_backoff():
    service = RetryPolicy(base_delay_seconds=0.5, max_delay_seconds=10.0)

    limited = service.limited({"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 120})

    assert limited == RetryPolicy(2, 120, base_delay_seconds=0.5, max_delay_seconds=10.0)
    assert service.limited({}) == service


def test_limits_outside_awss_bounds_are_refused():
    with pytest.raises(InvalidRetryPolicy, match=r"MaximumRetryAttempts must be 0\.\.185"):
        RetryPolicy().limited({"MaximumRetryAttempts": -1})


def test_an_invalid_retry_policy_is_a_value_error():
    assert issubclass(InvalidRetryPolicy, ValueError)


# backoff: full jitter


def test_backoff_is_full_jitter_between_zero_and_the_capped_exponential():
    policy = RetryPolicy(base_delay_seconds=1.0, max_delay_seconds=300.0)

    for seed in SEEDS:
        rng = random.Random(seed)
        for retries in range(15):
            delay = policy.backoff(retries, rng)
            assert 0.0 <= delay <= ceiling(policy, retries)


def test_backoff_asks_the_random_source_for_uniform_between_zero_and_the_capped_exponential():
    policy = RetryPolicy(base_delay_seconds=0.5, max_delay_seconds=20.0)
    rng = CeilingRandom()

    for retries in range(10):
        policy.backoff(retries, rng)

    assert rng.asked == [(0.0, min(20.0, 0.5 * 2**r)) for r in range(10)]


def test_backoff_ceiling_doubles_with_each_retry_until_the_cap_then_stays_there():
    policy = RetryPolicy(base_delay_seconds=1.0, max_delay_seconds=300.0)
    rng = CeilingRandom()

    ceilings = [policy.backoff(retries, rng) for retries in range(12)]

    assert ceilings == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]


def test_backoff_spreads_over_its_whole_range_rather_than_sitting_at_the_ceiling():
    policy = RetryPolicy(base_delay_seconds=1.0, max_delay_seconds=300.0)
    rng = random.Random(7)

    delays = [policy.backoff(20, rng) for _ in range(2000)]

    assert min(delays) < 30.0
    assert max(delays) > 270.0
    assert 130.0 < sum(delays) / len(delays) < 170.0


def test_backoff_grows_on_average_with_retries_until_the_cap():
    policy = RetryPolicy(base_delay_seconds=1.0, max_delay_seconds=300.0)
    rng = random.Random(11)

    means = [sum(policy.backoff(r, rng) for _ in range(500)) / 500 for r in range(0, 9)]

    assert means == sorted(means)
    assert means[-1] > 50 * means[0]


def test_backoff_is_the_same_for_the_same_seed():
    policy = RetryPolicy()

    for seed in range(20):
        first, second = random.Random(seed), random.Random(seed)
        assert [policy.backoff(r, first) for r in range(30)] == [
            policy.backoff(r, second) for r in range(30)
        ]


def test_backoff_differs_between_seeds():
    policy = RetryPolicy()

    sequences = {tuple(policy.backoff(r, random.Random(seed)) for r in range(10)) for seed in SEEDS}

    assert len(sequences) == len(SEEDS)


@pytest.mark.parametrize("retries", [64, 65, 185, 1024, 10**6, 10**18, sys.maxsize, 10**400])
def test_backoff_never_overflows_for_huge_retry_counts(retries):
    policy = RetryPolicy(base_delay_seconds=1.0, max_delay_seconds=300.0)

    assert policy.backoff(retries, CeilingRandom()) == 300.0
    for seed in range(20):
        delay = policy.backoff(retries, random.Random(seed))
        assert math.isfinite(delay)
        assert 0.0 <= delay <= 300.0


# judge_answer: what an HTTP answer means


@pytest.mark.parametrize("status", [200, 201, 202, 204, 206, 299])
def test_every_2xx_is_delivered(status):
    answer = judge_answer(status, now=NOW)

    assert answer == Answer(Verdict.DELIVERED, f"HTTP {status}")


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504, 599])
def test_408_429_and_5xx_are_retried(status):
    answer = judge_answer(status, now=NOW)

    assert answer.verdict is Verdict.RETRY
    assert answer.reason == f"HTTP {status}"
    assert answer.retry_after_seconds is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 410, 413, 422, 301, 302, 304, 307])
def test_other_4xx_and_3xx_give_up_naming_the_status(status):
    answer = judge_answer(status, now=NOW)

    assert answer.verdict is Verdict.GIVE_UP
    assert answer.reason == f"HTTP {status}"


def test_a_redirect_is_not_followed_even_with_a_retry_after():
    answer = judge_answer(302, retry_after="5", now=NOW)

    assert answer == Answer(Verdict.GIVE_UP, "HTTP 302")


@pytest.mark.parametrize("error", ["connection refused", "connection reset by peer", "timed out"])
def test_no_answer_at_all_is_retried_with_the_error_in_the_reason(error):
    answer = judge_answer(None, error=error, now=NOW)

    assert answer.verdict is Verdict.RETRY
    assert error in answer.reason
    assert answer.retry_after_seconds is None


def test_no_answer_without_an_error_text_is_still_retried():
    answer = judge_answer(None, now=NOW)

    assert answer.verdict is Verdict.RETRY
    assert answer.reason


def test_a_429_is_retried_no_sooner_than_its_retry_after_in_seconds():
    answer = judge_answer(429, retry_after="120", now=NOW)

    assert answer == Answer(Verdict.RETRY, "HTTP 429", 120.0)


def test_a_429_retry_after_as_an_http_date_counts_from_now():
    answer = judge_answer(429, retry_after=HTTP_DATE, now=NOW)

    assert answer.verdict is Verdict.RETRY
    assert answer.retry_after_seconds == 28 * 60


def test_a_429_retry_after_date_in_the_past_means_no_wait():
    answer = judge_answer(429, retry_after=HTTP_DATE, now=NOW + timedelta(hours=1))

    assert answer.retry_after_seconds == 0.0


def test_a_429_retry_after_of_the_present_moment_means_no_wait():
    answer = judge_answer(429, retry_after=HTTP_DATE, now=datetime(2026, 10, 21, 7, 28, tzinfo=UTC))

    assert answer.retry_after_seconds == 0.0


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
def test_retry_after_is_honoured_only_for_429(status):
    answer = judge_answer(status, retry_after="120", now=NOW)

    assert answer.verdict is Verdict.RETRY
    assert answer.retry_after_seconds is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "soon",
        "1.5",
        "-5",
        "+5",
        "0x10",
        "Wed, 21 Oct 2026 25:28:00 GMT",  # no such hour
        "Wed, 32 Oct 2026 07:28:00 GMT",  # no such day
    ],
)
def test_an_unreadable_retry_after_is_ignored(value):
    answer = judge_answer(429, retry_after=value, now=NOW)

    assert answer == Answer(Verdict.RETRY, "HTTP 429", None)


def test_a_429_without_retry_after_has_no_earliest_retry():
    assert judge_answer(429, now=NOW).retry_after_seconds is None


def test_retry_after_in_seconds_ignores_surrounding_whitespace():
    assert parse_retry_after("  30\t", NOW) == 30.0


def test_retry_after_of_zero_seconds_means_no_wait():
    assert parse_retry_after("0", NOW) == 0.0


def test_retry_after_in_seconds_does_not_depend_on_now():
    assert parse_retry_after("45", NOW) == parse_retry_after("45", NOW + timedelta(days=3)) == 45.0


def test_retry_after_as_an_http_date_in_another_offset_is_read_in_its_own_zone():
    assert parse_retry_after("Wed, 21 Oct 2026 09:28:00 +0200", NOW) == 28 * 60


def test_retry_after_as_an_rfc_850_date_is_read():
    assert parse_retry_after("Wednesday, 21-Oct-26 07:28:00 GMT", NOW) == 28 * 60


def test_retry_after_absent_is_none():
    assert parse_retry_after(None, NOW) is None


@pytest.mark.parametrize("value", ["²", "①", "3²"])
def test_a_retry_after_of_non_decimal_unicode_digits_is_ignored_not_raised(value):
    assert judge_answer(429, retry_after=value, now=NOW).retry_after_seconds is None


@pytest.mark.parametrize("value", ["Wed, 21 Oct 2026 07:28:00 -0000", "Wed, 21 Oct 2026 07:28:00"])
def test_a_retry_after_date_without_a_known_zone_is_read_as_gmt(value):
    assert parse_retry_after(value, NOW) == 28 * 60


def test_retry_after_as_an_asctime_date_is_read_as_gmt():
    assert parse_retry_after("Wed Oct 21 07:28:00 2026", NOW) == 28 * 60


# next_retry: when, if ever, the next try comes


@pytest.mark.parametrize("answer", [DELIVERED, GIVE_UP])
def test_a_delivered_or_given_up_delivery_is_never_retried(answer):
    policy = RetryPolicy()

    for retries in (0, 1, 50):
        assert (
            next_retry(policy, answer, retries_done=retries, age_seconds=0.0, rng=random.Random(0))
            is None
        )


def test_a_retryable_failure_is_retried_after_the_jittered_backoff():
    policy = RetryPolicy(base_delay_seconds=1.0, max_delay_seconds=300.0)

    for seed in SEEDS:
        delay = next_retry(policy, RETRY, retries_done=3, age_seconds=10.0, rng=random.Random(seed))
        assert delay == policy.backoff(3, random.Random(seed))
        assert delay is not None
        assert 0.0 <= delay <= 8.0


def test_retries_stop_once_the_policy_retries_are_spent():
    policy = RetryPolicy(maximum_retry_attempts=3)
    rng = CeilingRandom()

    delays = [next_retry(policy, RETRY, retries_done=r, age_seconds=0.0, rng=rng) for r in range(6)]

    assert delays == [1.0, 2.0, 4.0, None, None, None]


def test_the_last_allowed_retry_of_the_default_policy_is_still_made():
    policy = RetryPolicy()

    delay = next_retry(policy, RETRY, retries_done=184, age_seconds=0.0, rng=random.Random(1))
    spent = next_retry(policy, RETRY, retries_done=185, age_seconds=0.0, rng=random.Random(1))

    assert delay is not None
    assert spent is None


def test_with_zero_retry_attempts_the_first_failure_is_final():
    policy = RetryPolicy(maximum_retry_attempts=0)

    for answer in (RETRY, judge_answer(429, retry_after="1", now=NOW), judge_answer(None, now=NOW)):
        assert (
            next_retry(policy, answer, retries_done=0, age_seconds=0.0, rng=FloorRandom()) is None
        )


def test_no_retry_when_the_event_would_be_older_than_its_maximum_age_at_the_next_try():
    policy = RetryPolicy(maximum_event_age_seconds=60)
    rng = CeilingRandom()  # the delay at retries_done=5 is 32 seconds

    assert next_retry(policy, RETRY, retries_done=5, age_seconds=28.5, rng=rng) is None


def test_a_retry_landing_exactly_at_the_maximum_age_is_still_made():
    policy = RetryPolicy(maximum_event_age_seconds=60)

    delay = next_retry(policy, RETRY, retries_done=5, age_seconds=28.0, rng=CeilingRandom())

    assert delay == 32.0


def test_an_event_already_past_its_maximum_age_is_not_retried():
    policy = RetryPolicy(maximum_event_age_seconds=60)

    assert next_retry(policy, RETRY, retries_done=0, age_seconds=61.0, rng=FloorRandom()) is None


def test_a_429_is_retried_no_sooner_than_its_retry_after():
    policy = RetryPolicy()
    answer = judge_answer(429, retry_after="120", now=NOW)

    for seed in SEEDS:
        delay = next_retry(policy, answer, retries_done=0, age_seconds=0.0, rng=random.Random(seed))
        assert delay is not None
        assert delay >= 120.0


def test_a_429_waits_for_the_longer_of_its_retry_after_and_the_backoff():
    policy = RetryPolicy(base_delay_seconds=1.0, max_delay_seconds=300.0)
    answer = judge_answer(429, retry_after="5", now=NOW)

    short = next_retry(policy, answer, retries_done=0, age_seconds=0.0, rng=CeilingRandom())
    long = next_retry(policy, answer, retries_done=8, age_seconds=0.0, rng=CeilingRandom())

    assert short == 5.0
    assert long == 256.0


def test_a_429_dated_retry_after_is_honoured_by_the_next_retry():
    policy = RetryPolicy()
    answer = judge_answer(429, retry_after=HTTP_DATE, now=NOW)

    delay = next_retry(policy, answer, retries_done=0, age_seconds=0.0, rng=FloorRandom())

    assert delay == 28 * 60


def test_a_retry_after_beyond_the_maximum_age_ends_the_delivery():
    policy = RetryPolicy(maximum_event_age_seconds=3600)
    answer = judge_answer(429, retry_after="3601", now=NOW)

    assert next_retry(policy, answer, retries_done=0, age_seconds=0.0, rng=FloorRandom()) is None


def test_an_absurdly_long_retry_after_ends_the_delivery_rather_than_overflowing():
    policy = RetryPolicy()
    answer = judge_answer(429, retry_after="9" * 400, now=NOW)

    assert next_retry(policy, answer, retries_done=0, age_seconds=0.0, rng=FloorRandom()) is None


# a whole retry sequence never outlives the event


def run_retry_sequence(
    policy: RetryPolicy,
    rng: random.Random,
    answers: list[Answer],
    attempt_seconds: list[float],
) -> list[float]:
    """Fail every try (each taking some time) until next_retry says stop.

    Returns the event's age at the start of every retry.
    """
    age = attempt_seconds[0]
    starts: list[float] = []
    while True:
        answer = answers[len(starts) % len(answers)]
        delay = next_retry(policy, answer, retries_done=len(starts), age_seconds=age, rng=rng)
        if delay is None:
            return starts
        assert delay >= (answer.retry_after_seconds or 0.0)
        starts.append(age + delay)
        age += delay + attempt_seconds[len(starts) % len(attempt_seconds)]


answers_st = st.lists(
    st.one_of(
        st.just(RETRY),
        st.builds(
            lambda seconds: Answer(Verdict.RETRY, "HTTP 429", seconds),
            st.floats(min_value=0.0, max_value=7200.0),
        ),
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    attempts=st.integers(min_value=0, max_value=MAX_RETRY_ATTEMPTS),
    max_age=st.integers(min_value=MIN_EVENT_AGE_SECONDS, max_value=MAX_EVENT_AGE_SECONDS),
    base=st.floats(min_value=0.01, max_value=10.0),
    cap=st.floats(min_value=10.0, max_value=3600.0),
    answers=answers_st,
)
def test_the_delays_of_a_whole_retry_sequence_never_exceed_the_event_maximum_age(
    seed, attempts, max_age, base, cap, answers
):
    policy = RetryPolicy(
        maximum_retry_attempts=attempts,
        maximum_event_age_seconds=max_age,
        base_delay_seconds=base,
        max_delay_seconds=cap,
    )
    rng = random.Random(seed)
    age, total_delay, retries = 0.0, 0.0, 0
    while (
        delay := next_retry(
            policy, answers[retries % len(answers)], retries_done=retries, age_seconds=age, rng=rng
        )
    ) is not None:
        retries += 1
        total_delay += delay
        age += delay

    assert total_delay <= max_age
    assert retries <= attempts


def test_with_attempt_durations_no_retry_ever_starts_past_the_maximum_age():
    for seed in SEEDS:
        rng = random.Random(seed)
        policy = RetryPolicy(
            maximum_retry_attempts=rng.randint(0, MAX_RETRY_ATTEMPTS),
            maximum_event_age_seconds=rng.randint(MIN_EVENT_AGE_SECONDS, 7200),
            base_delay_seconds=rng.uniform(0.1, 5.0),
            max_delay_seconds=rng.uniform(5.0, 600.0),
        )
        answers = [RETRY, Answer(Verdict.RETRY, "HTTP 429", rng.uniform(0.0, 120.0))]
        durations = [rng.uniform(0.0, 30.0) for _ in range(7)]

        starts = run_retry_sequence(policy, rng, answers, durations)

        assert len(starts) <= policy.maximum_retry_attempts
        assert all(start <= policy.maximum_event_age_seconds for start in starts)
        assert starts == sorted(starts)


def test_the_default_policy_under_constant_failure_spends_all_185_retries_within_a_day():
    policy = RetryPolicy()

    for seed in range(50):
        starts = run_retry_sequence(policy, random.Random(seed), [RETRY], [0.0])

        assert len(starts) == 185
        assert starts[-1] <= 86_400


@pytest.mark.parametrize(
    ("status", "failed"),
    [(None, True), (500, True), (503, True), (408, True), (429, False), (404, False), (200, False)],
)
def test_only_no_answer_408_and_5xx_count_against_the_endpoint(status, failed):
    answer = judge_answer(status, error="refused" if status is None else None, now=NOW)
    assert answer.endpoint_failed is failed
