"""When a delivery is tried again: EventBridge's RetryPolicy, full-jitter backoff, HTTP's answers.

A delivery is tried, then retried after an exponentially growing, fully jittered delay
(``uniform(0, min(cap, base * 2**retries))``, so many failing deliveries do not retry in
step) until it succeeds, the answer says retrying is pointless, the policy's retries are
spent (``MaximumRetryAttempts``, 0..185, default 185) or the event would be older than
``MaximumEventAgeInSeconds`` (60..86400, default 86400) at the next try.

What an answer means, as EventBridge and SNS treat HTTP targets: 2xx is delivered; 408,
429 and 5xx are retried, 429 not before its ``Retry-After``; any other answer (3xx
included: redirects are not followed) gives up at once; no answer at all (refused,
reset, timed out) is retried.
"""

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

MAX_RETRY_ATTEMPTS = 185
MIN_EVENT_AGE_SECONDS = 60
MAX_EVENT_AGE_SECONDS = 86_400


class InvalidRetryPolicy(ValueError):
    """A retry policy outside the bounds AWS accepts."""


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often one delivery is tried again."""

    maximum_retry_attempts: int = MAX_RETRY_ATTEMPTS
    maximum_event_age_seconds: int = MAX_EVENT_AGE_SECONDS
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 300.0

    def __post_init__(self) -> None:
        if not isinstance(self.maximum_retry_attempts, int) or isinstance(
            self.maximum_retry_attempts, bool
        ):
            raise InvalidRetryPolicy(
                f"MaximumRetryAttempts must be an integer, not {self.maximum_retry_attempts!r}"
            )
        if not 0 <= self.maximum_retry_attempts <= MAX_RETRY_ATTEMPTS:
            raise InvalidRetryPolicy(
                f"MaximumRetryAttempts must be 0..{MAX_RETRY_ATTEMPTS}, "
                f"not {self.maximum_retry_attempts}"
            )
        if not MIN_EVENT_AGE_SECONDS <= self.maximum_event_age_seconds <= MAX_EVENT_AGE_SECONDS:
            raise InvalidRetryPolicy(
                f"MaximumEventAgeInSeconds must be {MIN_EVENT_AGE_SECONDS}..{MAX_EVENT_AGE_SECONDS}"
                f", not {self.maximum_event_age_seconds}"
            )
        if not 0 < self.base_delay_seconds <= self.max_delay_seconds:
            raise InvalidRetryPolicy("the base delay must be positive and at most the cap")

    def backoff(self, retries_done: int, rng: random.Random) -> float:
        """The jittered delay before retry number ``retries_done + 1``."""
        ceiling = self.base_delay_seconds * math.pow(2, min(retries_done, 64))
        return rng.uniform(0.0, min(self.max_delay_seconds, ceiling))

    def limited(self, limits: Mapping[str, object]) -> "RetryPolicy":
        """This policy with a target's ``RetryPolicy`` limits (AWS's names); InvalidRetryPolicy."""
        unknown = set(limits) - set(LIMIT_NAMES)
        if unknown:
            raise InvalidRetryPolicy(f"unknown RetryPolicy fields: {', '.join(sorted(unknown))}")
        given = {LIMIT_NAMES[name]: value for name, value in limits.items()}
        for name, value in limits.items():
            if not isinstance(value, int) or isinstance(value, bool):
                raise InvalidRetryPolicy(f"{name} must be an integer, not {value!r}")
        return replace(self, **given)  # type: ignore[arg-type]


LIMIT_NAMES = {
    "MaximumRetryAttempts": "maximum_retry_attempts",
    "MaximumEventAgeInSeconds": "maximum_event_age_seconds",
}
"""A target's ``RetryPolicy`` fields and the :class:`RetryPolicy` fields they set."""


def check_retry_limits(value: object) -> dict[str, int]:
    """A target's ``RetryPolicy`` object checked against AWS's bounds; InvalidRetryPolicy."""
    if not isinstance(value, Mapping):
        raise InvalidRetryPolicy("RetryPolicy must be an object")
    RetryPolicy().limited(value)
    return {str(name): int(number) for name, number in value.items()}


class Verdict(StrEnum):
    """What one attempt came to."""

    DELIVERED = "delivered"
    RETRY = "retry"
    GIVE_UP = "give-up"


@dataclass(frozen=True)
class Answer:
    """One attempt's outcome: its verdict, why, and the earliest retry the endpoint asked for."""

    verdict: Verdict
    reason: str
    retry_after_seconds: float | None = None
    endpoint_failed: bool = False
    """The endpoint is unwell (no answer, 408, 5xx), not the message: its breaker counts it."""


RETRIED_STATUSES = frozenset({408, 429})


def judge_answer(
    status: int | None, *, error: str | None = None, retry_after: str | None = None, now: datetime
) -> Answer:
    """What an HTTP answer (``status``) or its absence (``error``) means for the delivery."""
    if status is None:
        return Answer(Verdict.RETRY, f"no answer: {error or 'unknown error'}", endpoint_failed=True)
    if 200 <= status < 300:
        return Answer(Verdict.DELIVERED, f"HTTP {status}")
    if status == 429:
        return Answer(Verdict.RETRY, f"HTTP {status}", parse_retry_after(retry_after, now))
    if status in RETRIED_STATUSES or 500 <= status < 600:
        return Answer(Verdict.RETRY, f"HTTP {status}", endpoint_failed=True)
    return Answer(Verdict.GIVE_UP, f"HTTP {status}")


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` in seconds from ``now`` (delta seconds or an HTTP date); None if absent
    or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # asctime's form carries no zone: HTTP dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def next_retry(
    policy: RetryPolicy,
    answer: Answer,
    *,
    retries_done: int,
    age_seconds: float,
    rng: random.Random,
) -> float | None:
    """Seconds until the next try, or None when the delivery must be dead-lettered.

    ``retries_done`` counts the retries already made (0 after the first try) and
    ``age_seconds`` how old the event is now.
    """
    if answer.verdict is not Verdict.RETRY or retries_done >= policy.maximum_retry_attempts:
        return None
    delay = policy.backoff(retries_done, rng)
    if answer.retry_after_seconds is not None:
        delay = max(delay, answer.retry_after_seconds)
    if age_seconds + delay > policy.maximum_event_age_seconds:
        return None
    return delay
