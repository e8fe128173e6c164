"""The records of the open transactions: derived events sent at once, table changes once per key.

Faust sends every record through ``Topic.send`` (futures, callbacks, a buffer and a
background task for table changelogs), about 170-200 µs each, and writes a changelog
record for every change of a key. The outbox hands records straight to the aiokafka
producer of the transaction they belong to (the one of the partition of the event being
processed, gap 1) and keeps only the *last* change of each table key per transaction:
a key an order's saga rewrites five times in one commit interval costs one changelog
record. Reads see their own writes because the table's local store is written at once;
only the changelog waits for the commit (step 2), which sends the cached changes and
waits until every record of the transaction is acknowledged.
"""

import asyncio
from typing import Any, cast

import faust
from faust.types import TP, AppT, TopicT

from ecommerce_streams.exactly_once.gate import TransactionPoisoned
from ecommerce_streams.exactly_once.repairs import Repair, repaired

Headers = list[tuple[str, bytes]]
"""A record's Kafka headers."""


class Outbox:
    """What the open transactions will hold: sent records and cached table changes."""

    def __init__(self, app: AppT) -> None:
        self._app = app
        #: (changelog topic, partition, table key) -> (table, value or None, source partition)
        self._changes: dict[tuple[str, int, Any], tuple[faust.Table[Any, Any], Any, TP]] = {}
        self._sent: list[asyncio.Future[Any]] = []
        self._producers: set[Any] = set()
        #: Records handed to the producer since the worker started (for the metrics).
        self.records_sent = 0

    async def send(
        self, topic: str, key: bytes | None, value: bytes, headers: Headers | None = None
    ) -> None:
        """Send a derived record in the transaction of the event being processed."""
        producer = self._producer_for(_source_partition())
        self._sent.append(await producer.send(topic, value, key=key, headers=headers))
        self.records_sent += 1

    def change(self, table: faust.Table[Any, Any], partition: int, key: Any, value: Any) -> None:
        """Cache a table change (``None`` deletes): its changelog is written at commit."""
        topic = table.changelog_topic.get_topic_name()
        self._changes[(topic, partition, key)] = (table, value, _source_partition())

    @property
    def pending_changes(self) -> int:
        """Table keys changed since the last commit."""
        return len(self._changes)

    async def flush(self) -> None:
        """Send the cached changes and wait until every record is acknowledged (step 2)."""
        changes, self._changes = self._changes, {}
        for (topic, partition, key), (table, value, source) in changes.items():
            raw_key, _ = table.changelog_topic.prepare_key(key, table.key_serializer)
            raw_value = (
                None
                if value is None
                else table.changelog_topic.prepare_value(value, table.value_serializer)[0]
            )
            producer = self._producer_for(source)
            self._sent.append(
                await producer.send(topic, raw_value, key=raw_key, partition=partition)
            )
            write_committed = getattr(table.data, "write_committed", None)
            if write_committed is not None:  # the store deferred it (deferred-store-writes)
                write_committed(partition, key, raw_key, raw_value)
        self.records_sent += len(changes)
        sent, self._sent = self._sent, []
        producers, self._producers = self._producers, set()
        # Send what lingers in the producers' batches now: the commit ends the batching.
        await asyncio.gather(*(p._message_accumulator.flush_for_commit() for p in producers))
        if sent:
            await asyncio.gather(*sent)  # the first failure poisons the commit

    def forget(self) -> None:
        """Drop everything: the transactions it belonged to are being aborted."""
        for table in {table for table, _, _ in self._changes.values()}:
            forget_pending = getattr(table.data, "forget_pending", None)
            if forget_pending is not None:
                forget_pending()
        self._changes.clear()
        self._sent.clear()
        self._producers.clear()

    def _producer_for(self, source: TP) -> Any:
        tid = transactional_id(self._app, source)
        producer = cast(Any, self._app.producer)._transaction_producers.get(tid)  # Faust's
        if producer is None:
            raise TransactionPoisoned(f"no open transaction {tid!r} for a record of {source}")
        self._producers.add(producer)
        return producer


def _source_partition() -> TP:
    event = faust.current_event()
    if event is None:
        raise TransactionPoisoned("a record written outside the processing of an event")
    return event.message.tp


def outbox_of(app: AppT) -> Outbox:
    """The app's outbox, created on first use."""
    outbox = getattr(app, "_es_outbox", None)
    if outbox is None:
        outbox = Outbox(app)
        # Our state rides on Faust's app object, whose type does not declare it.
        app._es_outbox = outbox  # type: ignore[attr-defined]
    return outbox


def transactional_id(app: AppT, tp: TP) -> str:
    """The transactional id of a source partition's producer (Faust's naming)."""
    group = app.assignor.group_for_topic(tp.topic)
    return f"{app.conf.id}-{group}-{tp.partition}"


async def send(
    app: AppT, topic: TopicT, key: bytes | None, value: bytes, *, headers: Headers | None = None
) -> None:
    """Send a record in the transaction of the event being processed (Faust's path without one)."""
    if app.in_transaction and repaired(app, Repair.DIRECT_SENDS):
        await outbox_of(app).send(topic.get_topic_name(), key, value, headers)
    else:
        await topic.send(key=key, value=value, headers=headers)
