"""A token bucket on the event loop's clock that paces sends to a rate."""

import asyncio


class TokenBucket:
    """Allows ``rate`` takes per second on average, and bursts of up to ``burst``."""

    def __init__(self, rate: float, *, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate / 20)
        self._tokens = self.burst
        self._updated: float | None = None

    async def take(self) -> None:
        """Wait until one token is available, then spend it."""
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            if self._updated is not None:
                elapsed = now - self._updated
                self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
            self._updated = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            await asyncio.sleep((1 - self._tokens) / self.rate)
