"""One compacted control topic read whole into memory, and written with read-your-writes.

A :class:`Catalogue` reads its topic from the beginning with its own read_committed
consumer (no consumer group: every worker and every CLI run reads every record) and keeps
the latest value of each key; a tombstone removes the key. :meth:`Catalogue.current`
first reads up to the end offsets observed at the call, so it sees every write
acknowledged before it. :meth:`Catalogue.put` produces one record through the shared
:class:`~ecommerce_streams.routing.writer.RecordWriter` and returns once this catalogue
has read it back: the worker that answered a change serves it at once, the others within
a fetch (``FETCH_WAIT_MS``).

A record that cannot be decoded (written by hand, or by a newer version) is logged and
skipped: the key keeps its last readable value.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from ecommerce_streams.kafka_admin import admin_client
from ecommerce_streams.kafka_reading import committed_reader
from ecommerce_streams.operations.topic_setup import partition_counts
from ecommerce_streams.routing.writer import CatalogueUnavailable, RecordWriter
from models.routing.checks import AwsError

logger = logging.getLogger(__name__)

T = TypeVar("T")
FETCH_WAIT_MS = 200
"""Longest a fetch waits for new records: how late another worker's change is seen."""
CATCH_UP_TIMEOUT_SECONDS = 15.0
"""Longest :meth:`Catalogue.current` and :meth:`Catalogue.put` wait for the topic."""


@dataclass(frozen=True)
class Codec(Generic[T]):
    """How a catalogue's values are written and read back (None is a tombstone)."""

    encode: Callable[[T], bytes]
    decode: Callable[[bytes | None], T | None]


class Catalogue(Generic[T]):
    """The latest value of every key of one compacted topic, kept current in the background."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        codec: Codec[T],
        writer: RecordWriter,
        *,
        timeout: float = CATCH_UP_TIMEOUT_SECONDS,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.codec = codec
        self.writer = writer
        self.timeout = timeout
        self.entries: dict[str, T] = {}
        """What has been read so far, by key."""
        self._positions: dict[int, int] = {}
        self._progress = asyncio.Condition()
        self._starting = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Assign every partition of the topic from the beginning and read in the background."""
        async with self._starting:
            if self._consumer is not None:
                return
            consumer = committed_reader(self.bootstrap)
            try:
                async with admin_client(self.bootstrap) as admin:
                    counts = await partition_counts(admin, (self.topic,))
                if not counts:
                    raise CatalogueUnavailable(f"topic {self.topic} does not exist")
                await consumer.start()
                assigned = [TopicPartition(self.topic, p) for p in range(counts[self.topic])]
                consumer.assign(assigned)
                await consumer.seek_to_beginning(*assigned)
            except (KafkaError, OSError) as error:
                await consumer.stop()
                raise CatalogueUnavailable(f"cannot read {self.topic}: {error!r}") from error
            except BaseException:
                await consumer.stop()
                raise
            self._consumer = consumer
            self._reader = asyncio.create_task(self._read(consumer), name=f"read {self.topic}")

    async def stop(self) -> None:
        """Stop reading and close the consumer, if started."""
        async with self._starting:
            consumer, self._consumer = self._consumer, None
            reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        if consumer is not None:
            await consumer.stop()

    async def current(self) -> Mapping[str, T]:
        """Every entry, once read up to the end offsets of the topic as they are now."""
        consumer = await self._started()
        try:
            ends = await asyncio.wait_for(
                consumer.end_offsets(list(consumer.assignment())), self.timeout
            )
        except (KafkaError, OSError, TimeoutError) as error:
            raise CatalogueUnavailable(f"cannot reach {self.topic}: {error!r}") from error
        await self._until(
            lambda: all(self._read_to(tp.partition) >= end for tp, end in ends.items())
        )
        return dict(self.entries)

    async def put(self, key: str, value: T | None) -> None:
        """Write ``value`` (None: a tombstone) under ``key``; return once read back here."""
        await self._started()
        raw = None if value is None else self.codec.encode(value)
        partition, offset = await self.writer.write(self.topic, key, raw)
        await self._until(lambda: self._read_to(partition) > offset)

    async def _started(self) -> AIOKafkaConsumer:
        await self.start()
        consumer = self._consumer
        if consumer is None:
            raise CatalogueUnavailable(f"the catalogue of {self.topic} is stopped")
        return consumer

    def _read_to(self, partition: int) -> int:
        return self._positions.get(partition, 0)

    async def _until(self, reached: Callable[[], bool]) -> None:
        async with self._progress:
            try:
                await asyncio.wait_for(self._progress.wait_for(reached), self.timeout)
            except TimeoutError:
                raise CatalogueUnavailable(
                    f"{self.topic} was not read up to date within {self.timeout}s"
                ) from None

    async def _read(self, consumer: AIOKafkaConsumer) -> None:
        """Apply every record as it arrives, then publish how far each partition is read."""
        while True:
            try:
                batches = await consumer.getmany(timeout_ms=FETCH_WAIT_MS)
                for messages in batches.values():
                    for message in messages:
                        self.apply(message.key, message.value)
                positions = {
                    tp.partition: await consumer.position(tp) for tp in consumer.assignment()
                }
            except Exception as error:  # a reader that stopped would stall every request
                logger.warning("catalogue %s: read failed, retrying: %r", self.topic, error)
                await asyncio.sleep(1)
                continue
            async with self._progress:
                self._positions.update(positions)
                self._progress.notify_all()

    def apply(self, key: bytes | None, raw: bytes | None) -> None:
        """Apply one record: the key's new value, or its removal for a tombstone."""
        if key is None:
            logger.warning("catalogue %s: a record without a key is skipped", self.topic)
            return
        name = key.decode("utf-8", "replace")
        try:
            value = self.codec.decode(raw)
        except (AwsError, ValueError, TypeError, KeyError, AttributeError) as error:
            logger.warning(
                "catalogue %s: record %r is unreadable, skipped: %s", self.topic, name, error
            )
            return
        if value is None:
            self.entries.pop(name, None)
        else:
            self.entries[name] = value
