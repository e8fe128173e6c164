"""The idempotent producer (acks=all) the web endpoints and tools write through, started once."""

import asyncio

from aiokafka import AIOKafkaProducer

SEND_TIMEOUT_MS = 15_000
"""How long one send may wait for the broker."""


class IdempotentProducer:
    """An idempotent ``acks=all`` producer, started on first use and once only."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()

    async def stop(self) -> None:
        """Flush and close the producer if it was ever started."""
        async with self._starting:
            producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def started(self) -> AIOKafkaProducer:
        """The producer, started now if it is not yet."""
        async with self._starting:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.bootstrap,
                    acks="all",
                    enable_idempotence=True,
                    request_timeout_ms=SEND_TIMEOUT_MS,
                )
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer
