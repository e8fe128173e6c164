"""A partner's HTTP endpoint on this machine: it fails a share of requests and is sometimes slow.

The demo, the benchmark and the tests deliver to it. Each request is answered 503 with
probability ``failure_share`` and delayed ``slow_seconds`` with probability
``slow_share`` (a seeded random source: a run can be repeated); every request is
recorded with its idempotency key, attempt, status and arrival time.
"""

import asyncio
import random
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from aiohttp import web


@dataclass(frozen=True)
class Received:
    """One request as the partner saw it."""

    path: str
    key: str
    attempt: int
    status: int
    at: float
    """Wall-clock arrival time (``time.time()``)."""


@dataclass
class Partner:
    """A flaky local HTTP endpoint; ``async with`` starts and stops it."""

    failure_share: float = 0.0
    slow_share: float = 0.0
    slow_seconds: float = 0.5
    seed: int = 0
    received: list[Received] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None
    _rng: random.Random = field(default_factory=random.Random)

    async def __aenter__(self) -> Self:
        self._rng = random.Random(self.seed)
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        await request.read()
        if self._rng.random() < self.slow_share:
            await asyncio.sleep(self.slow_seconds)
        status = 503 if self._rng.random() < self.failure_share else 200
        self.received.append(
            Received(
                request.path,
                request.headers.get("Idempotency-Key", ""),
                int(request.headers.get("X-Delivery-Attempt", "0") or 0),
                status,
                time.time(),
            )
        )
        return web.Response(status=status)

    def delivered(self) -> dict[str, Received]:
        """The first successful request of each idempotency key."""
        first: dict[str, Received] = {}
        for request in self.received:
            if request.status < 300:
                first.setdefault(request.key, request)
        return first
