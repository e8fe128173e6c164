"""Readiness of a broker, proven by committing a real transactional produce."""

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable

from aiokafka import AIOKafkaProducer
from aiokafka.admin import NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from ecommerce_streams.kafka_admin import admin_client

READINESS_TOPIC = "__es_ready"
ATTEMPT_TIMEOUT_SECONDS = 20.0
RETRY_PAUSE_SECONDS = 0.5
CONNECT_TIMEOUT_SECONDS = 1.0


async def accepts_connections(bootstrap: str) -> bool:
    """Return whether one host:port of bootstrap (``a:1,b:2``) accepts TCP connections."""
    for address in bootstrap.split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
                _, writer = await asyncio.open_connection(host, int(port))
        except (OSError, TimeoutError):
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True
    return False


class BrokerExited(Exception):
    """The broker process exited while readiness was being awaited."""


async def ensure_readiness_topic(bootstrap: str) -> None:
    """Create the single-partition readiness topic unless it already exists."""
    async with admin_client(bootstrap, request_timeout_ms=10_000) as admin:
        # One replica, written with acks=all also where the cluster asks for two in sync.
        probe = NewTopic(READINESS_TOPIC, 1, 1, topic_configs={"min.insync.replicas": "1"})
        response = await admin.create_topics([probe])
        for topic_error in response.topic_errors:
            error_code = topic_error[1]
            if error_code not in (0, TopicAlreadyExistsError.errno):
                raise for_code(error_code)(f"creating {topic_error[0]}")


async def produce_in_transaction(bootstrap: str, transactional_id: str) -> None:
    """Send one record to the readiness topic inside a committed transaction."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        transactional_id=transactional_id,
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=10_000,
    )
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send_and_wait(READINESS_TOPIC, b"ready")
    finally:
        await producer.stop()


async def probe_transactions(bootstrap: str, transactional_id: str) -> None:
    """Raise unless the broker can create a topic and commit a transactional record now."""
    await ensure_readiness_topic(bootstrap)
    await produce_in_transaction(bootstrap, transactional_id)


async def wait_until_transactions_work(
    bootstrap: str,
    transactional_id: str,
    deadline: float,
    broker_alive: Callable[[], bool],
) -> None:
    """Retry the transactional probe until it succeeds; raise TimeoutError or BrokerExited."""
    last_error: BaseException | None = None
    while True:
        if not broker_alive():
            raise BrokerExited()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"last probe error: {last_error!r}")
        if not await accepts_connections(bootstrap):
            last_error = ConnectionError(f"nothing accepts connections on {bootstrap}")
            await asyncio.sleep(RETRY_PAUSE_SECONDS)
            continue
        try:
            async with asyncio.timeout(min(remaining, ATTEMPT_TIMEOUT_SECONDS)):
                await probe_transactions(bootstrap, transactional_id)
            return
        except Exception as error:
            last_error = error
        await asyncio.sleep(RETRY_PAUSE_SECONDS)


def wait_until_ready_blocking(
    bootstrap: str,
    transactional_id: str,
    deadline: float,
    broker_alive: Callable[[], bool],
) -> None:
    """Run wait_until_transactions_work on a private event loop in its own thread."""
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(
                wait_until_transactions_work(bootstrap, transactional_id, deadline, broker_alive)
            )
        except BaseException as error:
            outcome.append(error)

    worker = threading.Thread(target=run, name="kafka-readiness", daemon=True)
    worker.start()
    worker.join()
    if outcome:
        raise outcome[0]
