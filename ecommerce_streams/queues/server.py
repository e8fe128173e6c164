"""Run the queue server: the store read back from Kafka, SQS's JSON protocol on ES_QUEUE_PORT."""

import asyncio
import signal

from aiohttp import web

from ecommerce_streams.operations.topic_setup import ensure_control_topics
from ecommerce_streams.queues.sqs_api import sqs_application
from ecommerce_streams.queues.store import QueueStore
from ecommerce_streams.settings import Settings


def queue_store(settings: Settings) -> QueueStore:
    """The deployment's queue store (one per deployment: its transactional id fences others)."""
    return QueueStore(
        settings.bootstrap,
        settings.topics.queue_state,
        transactional_id=f"{settings.app_id}-queues",
    )


async def serve_queues(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT."""
    await ensure_control_topics(
        settings.bootstrap, settings.topics, replication=settings.replication
    )
    store = queue_store(settings)
    await store.start()
    base = f"http://{settings.web_host}:{settings.queue_port}"
    runner = web.AppRunner(sqs_application(store, base), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.web_host, settings.queue_port).start()
    print(
        f"queues at {base} (SQS JSON protocol), {len(store.queues)} queue(s) read back", flush=True
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await store.stop()
