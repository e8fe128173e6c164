"""Unit tests: the worker notes how late its event loop runs a task that is due."""

import asyncio
import contextlib
import time

from ecommerce_streams import metrics
from ecommerce_streams.worker.loop_lag import WATCH_INTERVAL_SECONDS, watch_loop_lag


def late_seconds() -> float:
    """What ``es_event_loop_lag_seconds`` has summed so far."""
    return next(s.value for s in metrics.loop_lag.collect()[0].samples if s.name.endswith("_sum"))


async def test_a_loop_blocked_past_a_wake_up_is_noted_as_late_by_at_least_the_overrun() -> None:
    before = late_seconds()
    watch = asyncio.create_task(watch_loop_lag())
    await asyncio.sleep(0)  # the watch is asleep, due in one interval
    time.sleep(WATCH_INTERVAL_SECONDS + 0.03)  # noqa: ASYNC251 (blocking the loop is the point)
    await asyncio.sleep(0.01)
    watch.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watch

    assert late_seconds() - before >= 0.03
