"""The records of the open transactions: derived events sent at once, table changes once per key.

Faust sends every record through ``Topic.send`` (futures, callbacks, a buffer and a
background task for table changelogs), about 170-200 µs each, and writes a changelog
record for every change of a key. The outbox hands records straight to the aiokafka
producer of the transaction they belong to (the one of the partition of the event being
processed, gap 1) and keeps only the *last* change of each table key per transaction:
a key an order's saga rewrites five times in one commit interval costs one changelog
record. Reads see their own writes in the table's store, which holds the open
transactions' changes (``local_state.py``). The commit sends the cached changes and waits
until every record of the transactions is acknowledged (step 2); once the transactions
have committed, the stores write the changes with their changelog offsets (step 5).
"""

import asyncio
import functools
from collections.abc import Mapping
from typing import Any, Protocol, cast, runtime_checkable

import faust
from aiokafka import TopicPartition
from faust.types import TP, AppT, ModelT, TopicT
from faust.utils import json as faust_json

from ecommerce_streams.exactly_once.gate import TransactionPoisoned
from ecommerce_streams.exactly_once.repairs import Repair, repaired

Headers = list[tuple[str, bytes]]
"""A record's Kafka headers."""

CommittedChanges = Mapping[Any, tuple[bytes, bytes | None]]
"""A partition's committed table changes: key -> (raw key, raw value or None to delete)."""


@runtime_checkable
class CommittingStore(Protocol):
    """A table store that holds the open transactions' changes and writes them once committed."""

    def write_committed(self, partition: int, changes: CommittedChanges, offset: int) -> None:
        """Write a partition's committed changes with the offset of its last changelog record."""


@functools.cache
def writes_once_committed(store_type: type) -> bool:
    """Whether stores of this type are ``CommittingStore``s (once per type: a protocol's
    isinstance check walks its members on every call, 3 % of a worker's CPU per change)."""
    return issubclass(store_type, CommittingStore)


class Outbox:
    """What the open transactions will hold: sent records and cached table changes."""

    def __init__(self, app: AppT) -> None:
        self._app = app
        #: (changelog topic, partition, table key) -> (table, value or None, source partition)
        self._changes: dict[tuple[str, int, Any], tuple[faust.Table[Any, Any], Any, TP]] = {}
        self._sent: list[asyncio.Future[Any]] = []
        self._producers: set[Any] = set()
        #: (store, partition) -> changes sent in the open transactions and the offset of the
        #: partition's last changelog record, for the store to write once they commit
        self._committing: dict[tuple[CommittingStore, int], tuple[dict[Any, Any], int]] = {}
        #: Records handed to the producer since the worker started (for the metrics).
        self.records_sent = 0
        #: (source partition, its topic group) -> the transactional id of its producer
        self._transactional_ids: dict[tuple[TP, int], str] = {}
        #: The acknowledgement of the records sent so far (step 2), which commits await.
        self._acknowledging: asyncio.Future[None] | None = None
        #: Whether a changelog partition joins its transaction with the change.
        self._joins_early = repaired(app, Repair.OVERLAPPED_COMMITS)

    async def send(
        self, topic: str, key: bytes | None, value: bytes, headers: Headers | None = None
    ) -> None:
        """Send a derived record in the transaction of the event being processed."""
        producer = self._producer_for(_source_partition())
        self._sent.append(await producer.send(topic, value, key=key, headers=headers))
        self.records_sent += 1

    def change(self, table: faust.Table[Any, Any], partition: int, key: Any, value: Any) -> None:
        """Cache a table change (``None`` deletes): its changelog is written at commit.

        With ``overlapped-commits`` the changelog partition joins the transaction now
        (aiokafka's AddPartitionsToTxn goes out with the event's derived records), so the
        commit need not wait a round trip for it.
        """
        topic = table.changelog_topic.get_topic_name()
        source = _source_partition()
        self._changes[(topic, partition, key)] = (table, value, source)
        if self._joins_early:
            transaction = self._producer_for(source)._txn_manager
            if not transaction.is_in_transaction():  # a failed commit ended it
                raise TransactionPoisoned(f"a change of {topic}[{partition}] with no transaction")
            transaction.maybe_add_partition_to_txn(TopicPartition(topic, partition))

    @property
    def pending_changes(self) -> int:
        """Table keys changed since the last commit."""
        return len(self._changes)

    async def send_changes(self) -> None:
        """Send the cached changes, one record per changed key, and push every batch (step 2).

        :meth:`acknowledged` waits for the records; the commit sends its offsets meanwhile.
        """
        changes, self._changes = self._changes, {}
        stored: dict[tuple[CommittingStore, int], dict[Any, Any]] = {}
        last_records: dict[tuple[CommittingStore, int], asyncio.Future[Any]] = {}
        for (topic, partition, key), (table, value, source) in changes.items():
            raw_key, raw_value = encode_change(table, key, value)
            producer = self._producer_for(source)
            sent = await producer.send(topic, raw_value, key=raw_key, partition=partition)
            self._sent.append(sent)
            if writes_once_committed(type(table.data)):
                store = cast(CommittingStore, table.data)
                stored.setdefault((store, partition), {})[key] = (raw_key, raw_value)
                last_records[(store, partition)] = sent  # a partition's sends keep order
        self.records_sent += len(changes)
        sent_records, self._sent = self._sent, []
        producers, self._producers = self._producers, set()
        earlier = self._acknowledging
        self._acknowledging = asyncio.ensure_future(
            self._acknowledge(earlier, sent_records, producers, stored, last_records)
        )

    async def acknowledged(self) -> None:
        """Wait until every record sent so far is acknowledged; raise the first failure."""
        if self._sent or self._changes:
            await self.send_changes()
        if self._acknowledging is not None:
            await asyncio.shield(self._acknowledging)

    async def _acknowledge(
        self,
        earlier: asyncio.Future[None] | None,
        sent_records: list[asyncio.Future[Any]],
        producers: set[Any],
        stored: dict[tuple[CommittingStore, int], dict[Any, Any]],
        last_records: dict[tuple[CommittingStore, int], asyncio.Future[Any]],
    ) -> None:
        if earlier is not None:
            await earlier
        # Send what lingers in the producers' batches now: the commit ends the batching.
        await asyncio.gather(*(p._message_accumulator.flush_for_commit() for p in producers))
        if sent_records:
            await asyncio.gather(*sent_records)  # the first failure poisons the commit
        for store_partition, store_changes in stored.items():
            offset = last_records[store_partition].result().offset
            earlier_changes, _ = self._committing.get(store_partition, ({}, offset))
            self._committing[store_partition] = ({**earlier_changes, **store_changes}, offset)

    def store_committed(self) -> None:
        """Write the committed changes to the stores with their changelog offsets (step 5)."""
        committing, self._committing = self._committing, {}
        for (store, partition), (changes, offset) in committing.items():
            store.write_committed(partition, changes, offset)

    def _producer_for(self, source: TP) -> Any:
        group = self._app.assignor.group_for_topic(source.topic)
        tid = self._transactional_ids.get((source, group))
        if tid is None:  # Faust's settings lookup made naming 1 % of a worker's CPU
            tid = self._transactional_ids[(source, group)] = transactional_id(self._app, source)
        producer = cast(Any, self._app.producer)._transaction_producers.get(tid)  # Faust's
        if producer is None:
            raise TransactionPoisoned(f"no open transaction {tid!r} for a record of {source}")
        self._producers.add(producer)
        return producer


def encode_change(table: faust.Table[Any, Any], key: Any, value: Any) -> tuple[bytes, bytes | None]:
    """A table change as the key and value (None deletes) of its changelog record.

    A ``json`` key or value is written as Faust's json codec writes it (orjson, a value's
    ``__json__``), without the serializer registry, schema and codec chain around it:
    4 of a key's 4.5 µs and 6-15 of a value's 10-45 µs. A value that writes its own
    JSON (``JsonBytes``, the shop's records) saves another 9 µs. Faust's models and other
    serializers take Faust's path.
    """
    changelog = table.changelog_topic
    if table.key_serializer == "json" and not isinstance(key, ModelT):
        raw_key = _json(key)
    else:
        raw_key = changelog.prepare_key(key, table.key_serializer)[0]
    if value is None:
        return raw_key, None
    if table.value_serializer != "json" or isinstance(value, ModelT):
        return raw_key, changelog.prepare_value(value, table.value_serializer)[0]
    value_type: type = type(value)
    if _writes_json_bytes(value_type):
        return raw_key, cast(JsonBytes, value).to_bytes()
    as_json = getattr(value, "__json__", None)
    return raw_key, _json(value if as_json is None else as_json())


@runtime_checkable
class JsonBytes(Protocol):
    """A value whose ``to_bytes`` is what Faust's json codec writes of its ``__json__``."""

    def __json__(self) -> Any:
        """The JSON-ready form Faust's codec writes."""

    def to_bytes(self) -> bytes:
        """That form as Faust's json codec writes it, only faster."""


@functools.cache
def _writes_json_bytes(value_type: type) -> bool:
    """Whether values of this type are ``JsonBytes`` (once per type: an isinstance check costs
    7 µs)."""
    return issubclass(value_type, JsonBytes)


def _json(document: Any) -> bytes:
    """``document`` as Faust's json codec writes it."""
    written: bytes | str = faust_json.dumps(document)
    return written if isinstance(written, bytes) else written.encode()


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
    """The transactional id of a source partition's producer (Faust's naming), or the worker's.

    With ``worker-transactions`` every partition of a worker commits in one transaction,
    named after the worker (``ES_WORKER_NAME``): a restarted worker takes its id back,
    which aborts what its previous run left open.
    """
    if repaired(app, Repair.WORKER_TRANSACTIONS):
        return worker_transactional_id(app)
    group = app.assignor.group_for_topic(tp.topic)
    return f"{app.conf.id}-{group}-{tp.partition}"


def worker_transactional_id(app: AppT) -> str:
    """The transactional id of the worker's one producer (``worker-transactions``)."""
    return f"{app.conf.id}-worker-{getattr(app, 'worker_name', 'worker')}"


async def send(
    app: AppT, topic: TopicT, key: bytes | None, value: bytes, *, headers: Headers | None = None
) -> None:
    """Send a record in the transaction of the event being processed (Faust's path without one)."""
    if app.in_transaction and repaired(app, Repair.DIRECT_SENDS):
        await outbox_of(app).send(topic.get_topic_name(), key, value, headers)
    else:
        await topic.send(key=key, value=value, headers=headers)
