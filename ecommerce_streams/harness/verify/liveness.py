"""Liveness as an invariant: after the last fault every worker is ready and every order decided.

A deployment that stops making progress (a worker that never answers ``/ready``, an
order that never ends) breaks no exactly-once invariant by itself, so it is checked on
its own, against a stated bound: a wedge is a violation, never a slow pass.
"""

import asyncio
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import aiohttp

from ecommerce_streams.harness.deployment import WorkerProcess
from ecommerce_streams.harness.verify.reading import TopicReader
from ecommerce_streams.harness.verify.settling import OrderProgress
from ecommerce_streams.topic_names import TopicNames

DEFAULT_BOUND = 120.0
"""Seconds after the last fault within which the deployment must have recovered."""

POLL_INTERVAL = 0.5
READY_TIMEOUT = aiohttp.ClientTimeout(total=2)


@dataclass
class Recovery:
    """How long the deployment took to recover, or what was still wrong at the bound."""

    bound: float
    seconds: float | None = None
    not_ready: list[str] = field(default_factory=list)
    undecided: set[str] = field(default_factory=set)

    @property
    def recovered(self) -> bool:
        """Every worker ready and every order decided within the bound."""
        return self.seconds is not None

    def violation(self) -> str | None:
        """The wedge as one sentence, or None if the deployment recovered."""
        if self.recovered:
            return None
        problems = []
        if self.not_ready:
            problems.append(f"workers not ready: {', '.join(self.not_ready)}")
        if self.undecided:
            shown = ", ".join(sorted(self.undecided)[:5])
            more = f" and {len(self.undecided) - 5} more" if len(self.undecided) > 5 else ""
            problems.append(f"{len(self.undecided)} orders undecided ({shown}{more})")
        return f"wedged {self.bound:g}s after the last fault: {'; '.join(problems)}"


async def await_recovery(
    bootstrap: str,
    topics: TopicNames,
    workers: Callable[[], Sequence[WorkerProcess]],
    order_ids: Collection[str],
    *,
    since: float,
    bound: float = DEFAULT_BOUND,
) -> Recovery:
    """Poll every worker's /ready and read order-events until all are ready and decided.

    ``since`` is when the last fault ended, on the event loop's clock; ``workers`` is asked anew
    each poll, so a worker restarted meanwhile is judged as it is now.
    """
    loop = asyncio.get_running_loop()
    recovery = Recovery(bound=bound)
    progress = OrderProgress(order_ids)
    deadline = since + bound
    async with (
        TopicReader(bootstrap, [topics.order_events]) as reader,
        aiohttp.ClientSession(timeout=READY_TIMEOUT) as session,
    ):
        while True:
            read = len(reader.records[topics.order_events])
            await reader.catch_up(deadline=deadline)
            progress.decided(reader.records[topics.order_events][read:])
            recovery.undecided = progress.open_orders()
            recovery.not_ready = [w.name for w in workers() if not await w.is_ready(session)]
            now = loop.time()
            if not recovery.undecided and not recovery.not_ready:
                recovery.seconds = now - since
                return recovery
            if now >= deadline:
                return recovery
            await asyncio.sleep(POLL_INTERVAL)
