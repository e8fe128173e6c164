"""Real local HTTP servers for tests: an aiohttp runner served on a free loopback port."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from ecommerce_streams.harness.kafka import free_port


@asynccontextmanager
async def served(runner: web.BaseRunner) -> AsyncIterator[str]:
    """Set ``runner`` up on a free port of 127.0.0.1; yield its base URL, clean up after."""
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
