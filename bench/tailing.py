"""Follow topics read-committed while a benchmark runs, noting when each record arrived.

A record's Kafka timestamp says when its producer sent it; the arrival time says when
a ``read_committed`` consumer could first see it, which for a transactional output
includes the wait for its transaction to commit. Values are kept raw while the run
lasts (decoding is deferred to keep the tail cheap), except ``order-events``, whose
terminal events tell when every order is decided.
"""

import asyncio
import contextlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from ecommerce_streams.kafka_admin import admin_client

TERMINAL_EVENTS = frozenset({"OrderConfirmed", "OrderRejected", "OrderCancelled"})
FETCH_WAIT_MS = 100


@dataclass(frozen=True)
class Arrival:
    """One record and when the tail received it (wall clock, seconds)."""

    topic: str
    key: bytes | None
    value: bytes | None
    timestamp: float
    received_at: float


class CommittedTail:
    """A group-less read_committed consumer of some topics, from their start or their end."""

    def __init__(
        self,
        bootstrap: str,
        topics: Sequence[str],
        *,
        decisions_topic: str,
        expected: Iterable[str],
        keep: bool = True,
    ) -> None:
        """Follow ``topics``, waiting for ``expected`` orders; ``keep=False`` stores no arrivals."""
        self.bootstrap = bootstrap
        self.keep = keep
        self.topics = tuple(topics)
        self.decisions_topic = decisions_topic
        self.arrivals: list[Arrival] = []
        self.decided: dict[str, float] = {}
        self._waiting = set(expected)
        self._all_decided = asyncio.Event()
        if not self._waiting:
            self._all_decided.set()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            fetch_max_wait_ms=FETCH_WAIT_MS,
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self, *, from_end: bool) -> None:
        """Assign every partition and start reading (from the current end if ``from_end``)."""
        async with admin_client(self.bootstrap) as admin:
            described = await admin.describe_topics(list(self.topics))
        partitions = [
            TopicPartition(topic["topic"], partition["partition"])
            for topic in described
            for partition in topic["partitions"]
        ]
        await self._consumer.start()
        self._consumer.assign(partitions)
        if from_end:
            await self._consumer.seek_to_end(*partitions)
            for tp in partitions:
                await self._consumer.position(tp)
        else:
            await self._consumer.seek_to_beginning(*partitions)
        self._task = asyncio.create_task(self._follow())

    async def wait_decided(self, timeout: float) -> bool:
        """Wait until every expected order has a committed terminal event; False on timeout."""
        assert self._task is not None, "start() the tail first"
        decided = asyncio.create_task(self._all_decided.wait())
        await asyncio.wait({decided, self._task}, timeout=timeout, return_when="FIRST_COMPLETED")
        decided.cancel()
        if self._task.done():
            self._task.result()
        return self._all_decided.is_set()

    @property
    def undecided(self) -> int:
        """Expected orders still without a terminal event."""
        return len(self._waiting)

    async def stop(self) -> None:
        """Stop reading; the arrivals stay."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def _follow(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=100)
            received_at = time.time()
            for tp, messages in batches.items():
                for m in messages:
                    if self.keep:
                        self.arrivals.append(
                            Arrival(tp.topic, m.key, m.value, m.timestamp / 1000, received_at)
                        )
                    if tp.topic == self.decisions_topic:
                        self._note_decision(m.key, m.value, received_at)

    def _note_decision(self, key: bytes | None, value: bytes | None, received_at: float) -> None:
        if key is None or value is None:
            return
        try:
            event_type = orjson.loads(value).get("event_type")
        except orjson.JSONDecodeError:
            return
        if event_type not in TERMINAL_EVENTS:
            return
        order_id = key.decode()
        self.decided.setdefault(order_id, received_at)
        if order_id in self._waiting:
            self._waiting.discard(order_id)
            if not self._waiting:
                self._all_decided.set()
