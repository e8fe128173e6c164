"""A circuit breaker per endpoint: a failing endpoint gets a rest instead of every delivery.

Closed, it lets every delivery through and counts consecutive failures. At
``failure_threshold`` it opens: nothing goes through for ``cooldown_seconds``. Then it is
half-open: one trial delivery goes through; its success closes the breaker, its failure
opens it for another cooldown. Time is given, never read. Whoever was admitted reports
the outcome (``succeeded`` or ``failed``); an outcome that arrives late still counts.
"""

from dataclasses import dataclass
from enum import StrEnum


class BreakerState(StrEnum):
    """Where a breaker stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass
class CircuitBreaker:
    """One endpoint's breaker."""

    failure_threshold: int = 5
    cooldown_seconds: float = 30.0
    failures: int = 0
    opened_at: float | None = None
    trial_running: bool = False

    def state(self, now: float) -> BreakerState:
        """The state at ``now``."""
        if self.opened_at is None:
            return BreakerState.CLOSED
        if now - self.opened_at < self.cooldown_seconds:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def admit(self, now: float) -> bool:
        """Whether a delivery may go now (half-open: only the one trial)."""
        state = self.state(now)
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self.trial_running:
            self.trial_running = True
            return True
        return False

    def wait_seconds(self, now: float) -> float:
        """How long until the breaker may admit a delivery again (0: it may now).

        While the half-open trial runs, its outcome decides: ask again after a cooldown.
        """
        state = self.state(now)
        if state is BreakerState.CLOSED or (
            state is BreakerState.HALF_OPEN and not self.trial_running
        ):
            return 0.0
        if state is BreakerState.HALF_OPEN:
            return self.cooldown_seconds
        assert self.opened_at is not None
        return self.opened_at + self.cooldown_seconds - now

    def succeeded(self) -> None:
        """A delivery went through: close."""
        self.failures = 0
        self.opened_at = None
        self.trial_running = False

    def failed(self, now: float) -> None:
        """A delivery failed in a way that counts against the endpoint."""
        self.failures += 1
        if self.trial_running or self.failures >= self.failure_threshold:
            self.opened_at = now
        self.trial_running = False
