"""How late the worker's event loop runs what is ready: the wait every broker reply adds.

A commit round is four or five requests one after the other, and each reply waits until
the loop is free to read it. An agent's unit of work, or Faust's consumer thread holding
the interpreter while it decodes a fetch, delays all of them (``docs/scaling.md``).
"""

import asyncio
import time

from ecommerce_streams import metrics

#: How often the watch sleeps and wakes.
WATCH_INTERVAL_SECONDS = 0.05


async def watch_loop_lag() -> None:
    """Sleep ``WATCH_INTERVAL_SECONDS`` again and again, observing how late each wake-up came.

    It takes no argument: Faust passes the app to a task that takes one.
    """
    while True:
        due = time.perf_counter() + WATCH_INTERVAL_SECONDS
        await asyncio.sleep(WATCH_INTERVAL_SECONDS)
        metrics.loop_lag.observe(max(0.0, time.perf_counter() - due))
