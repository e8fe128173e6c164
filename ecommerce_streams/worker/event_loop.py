"""The worker's event loop: Python's own, or uvloop (bench/results/uvloop-20261202)."""

import asyncio
from typing import Literal

import uvloop


def use_event_loop(kind: Literal["asyncio", "uvloop"]) -> None:
    """Make the loops created from now on of ``kind``: "uvloop" or "asyncio"."""
    policy = uvloop.EventLoopPolicy() if kind == "uvloop" else asyncio.DefaultEventLoopPolicy()
    asyncio.set_event_loop_policy(policy)
