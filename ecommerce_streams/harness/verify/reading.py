"""Read whole topics back from Kafka: read_committed, no consumer group, up to their end."""

import asyncio
from collections.abc import Sequence
from types import TracebackType
from typing import Self

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from ecommerce_streams.harness.verify.records import Record
from ecommerce_streams.kafka_reading import committed_reader

FETCH_WAIT_MS = 200


class TopicReader:
    """Reads every partition of some topics from the beginning, one catch-up at a time.

    Each :meth:`catch_up` captures the end offsets (the last stable offsets, as the
    consumer reads committed data only) and reads up to them; records accumulate in
    :attr:`records`. Topics or partitions created later are picked up by the next call.
    """

    def __init__(self, bootstrap: str, topics: Sequence[str]) -> None:
        self.topics = tuple(topics)
        self.records: dict[str, list[Record]] = {topic: [] for topic in self.topics}
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        self._consumer = committed_reader(bootstrap)
        self._assigned: set[TopicPartition] = set()

    async def __aenter__(self) -> Self:
        await self._admin.start()
        try:
            await self._consumer.start()
        except BaseException:
            await self._admin.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await self._consumer.stop()
        finally:
            await self._admin.close()

    async def catch_up(self, *, deadline: float | None = None) -> int:
        """Read every partition up to its current end offset; return how many records were new."""
        await self._assign_all()
        if not self._assigned:
            return 0
        consumer = self._consumer
        ends = await consumer.end_offsets(sorted(self._assigned))
        lagging = {tp for tp, end in ends.items() if await consumer.position(tp) < end}
        loop = asyncio.get_running_loop()
        new = 0
        while lagging and (deadline is None or loop.time() < deadline):
            batches = await consumer.getmany(*lagging, timeout_ms=FETCH_WAIT_MS)
            for tp, messages in batches.items():
                self.records[tp.topic].extend(
                    Record(m.topic, m.partition, m.offset, m.key, m.value, tuple(m.headers))
                    for m in messages
                )
                new += len(messages)
            lagging = {tp for tp in lagging if await consumer.position(tp) < ends[tp]}
        return new

    async def _assign_all(self) -> None:
        """Assign every partition of the topics that exist, keeping positions already reached."""
        existing = set(await self._admin.list_topics())
        present = [topic for topic in self.topics if topic in existing]
        if not present:
            return
        described = await self._admin.describe_topics(present)
        wanted = {
            TopicPartition(topic["topic"], partition["partition"])
            for topic in described
            for partition in topic["partitions"]
        }
        fresh = wanted - self._assigned
        if not fresh:
            return
        consumer = self._consumer
        positions = {tp: await consumer.position(tp) for tp in self._assigned}
        consumer.assign(sorted(wanted))
        for tp, offset in positions.items():
            consumer.seek(tp, offset)
        await consumer.seek_to_beginning(*sorted(fresh))
        self._assigned = wanted
