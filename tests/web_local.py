"""The worker's real HTTP stack served in the test process, without a broker or a worker."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from ecommerce_streams.harness.kafka import free_port
from ecommerce_streams.web import ingestion
from ecommerce_streams.web.http_server import ProblemRunner
from ecommerce_streams.web.ingestion import EventProducer
from ecommerce_streams.worker.app import app
from ecommerce_streams.worker.run import load_services


@asynccontextmanager
async def serving() -> AsyncIterator[str]:
    """Serve every endpoint of a worker on a free local port; yield its base URL.

    Nothing is assigned to it (views answer 503, ``/ready`` 503), and its ingestion
    producer points at a port where no broker listens, so nothing can reach a topic.
    """
    load_services()
    ingestion.producer = EventProducer(f"127.0.0.1:{free_port()}")
    app.web.init_server()
    runner = ProblemRunner(app.web.web_app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
