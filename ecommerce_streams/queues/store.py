"""The queues' state in one compacted topic, each change written in a transaction before the answer.

:class:`QueueStore` keeps every queue in memory (the pure :class:`models.queues.queue.Queue`)
and stores it in ``queue-state``, keyed by ``q/<queue>`` (attributes), ``m/<queue>/<id>``
(a message with its delivery state), ``d/<queue>/<deduplication id>`` (a FIFO
deduplication id) and ``t/<handle>`` (a message move task), a deletion being a
tombstone. An action works on a copy of the queue,
writes every key it changed in **one Kafka transaction** (a message moved to a
dead-letter queue leaves one and enters the other atomically), then takes the copy, and
only then answers. A store that starts (or restarts after kill -9) reads the topic to its
end, read_committed: what was answered is there, what was not is not, so no message is
lost and none comes back after its deletion was answered.

One store serves a deployment: its transactional id fences a second one (the older
store's next write fails). Receipt handles other than each message's latest are not
stored: after a restart an older handle is ``ReceiptHandleIsInvalid`` instead of a
no-op.
"""

import asyncio
import base64
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from ecommerce_streams.kafka_reading import committed_reader
from models.queues.attributes import (
    QueueAttributes,
    attributes_from_request,
    check_queue_name,
    queue_arn,
)
from models.queues.queue import Message, Queue, Received, message_from_json, message_to_json
from models.routing.checks import AwsError
from models.routing.rules import KAFKA_TOPIC

T = TypeVar("T")
STORE_TIMEOUT_SECONDS = 30.0
"""Longest an action waits for its transaction; then it is refused and nothing changed."""
logger = logging.getLogger(__name__)
READ_TIMEOUT_MS = 500


def _not_found(name: str) -> AwsError:
    return AwsError("QueueDoesNotExist", f"The specified queue {name} does not exist.")


class QueueStore:
    """Every queue of a deployment: actions answered once their changes are stored."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        *,
        transactional_id: str,
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.transactional_id = transactional_id
        self.clock = clock
        self.new_id = new_id
        self.queues: dict[str, Queue] = {}
        self.feeds: dict[str, str] = {}
        """The Kafka topic each fed queue takes its messages from."""
        self.move_tasks: dict[str, dict[str, Any]] = {}
        """Every message move task as last stored, by handle (see ``move_tasks``)."""
        self._feeders: dict[str, asyncio.Task[None]] = {}
        self._lock = asyncio.Lock()
        self._changed = asyncio.Condition()
        self._producer: AIOKafkaProducer | None = None
        self._stale = False
        self._unsealed: set[TopicPartition] | None = None
        """Partitions the next transaction seals: the last one's, or all (None) after a failure."""

    async def start(self) -> None:
        """Read the stored state to its end, then take the transactional producer."""
        await self._load()
        await self._started_producer()
        for name, topic in self.feeds.items():
            self._start_feeder(name, topic)

    async def stop(self) -> None:
        """Stop feeding and close the producer."""
        feeders, self._feeders = self._feeders, {}
        for task in feeders.values():
            task.cancel()
        await asyncio.gather(*feeders.values(), return_exceptions=True)
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def _fresh(self) -> None:
        """After a failed write, read the state back (what the topic holds is what counts)."""
        if self._stale:
            await self._started_producer()  # ends the earlier transaction first
            await self._load()
            self._stale = False

    async def _started_producer(self) -> AIOKafkaProducer:
        """The transactional producer, started now if it is not (fencing any earlier epoch)."""
        if self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap,
                transactional_id=self.transactional_id,
                enable_idempotence=True,
                acks="all",
            )
            try:
                await producer.start()
            except BaseException:
                await _stopped(producer)
                raise
            self._producer = producer
        return self._producer

    async def _load(self) -> None:
        state = await read_state(self.bootstrap, self.topic)
        self.queues = queues_from(state)
        self.move_tasks = {key[2:]: doc for key, doc in state.items() if key.startswith("t/")}
        self.feeds = {
            key[2:]: document["topic"]
            for key, document in state.items()
            if key.startswith("f/") and key[2:] in self.queues
        }

    async def _act(self, name: str, change: Callable[[Queue], T]) -> T:
        """Apply ``change`` to a copy of queue ``name``, store what changed, then keep it."""
        async with self._lock:
            await self._fresh()
            queue = self.queues.get(name)
            if queue is None:
                raise _not_found(name)
            copy = queue.copy()
            result = change(copy)
            await self._store({name: (queue, copy)})
            self.queues[name] = copy
        await self._notify()
        return result

    async def _store(
        self,
        changes: Mapping[str, tuple[Queue | None, Queue | None]],
        *,
        extra: Sequence[tuple[str, bytes | None]] = (),
        offsets: Mapping[TopicPartition, int] | None = None,
        group: str | None = None,
    ) -> None:
        """Write every key the changes touched, and ``offsets`` of ``group``, in one transaction."""
        records = [
            record
            for name, (before, after) in changes.items()
            for record in _changed_records(name, before, after)
        ]
        records += extra
        if not records and not offsets:
            return
        try:
            await asyncio.wait_for(self._write(records, offsets, group), STORE_TIMEOUT_SECONDS)
        except BaseException:
            # The transaction's fate is unknown: a new producer of the same id ends it, and
            # the state is read back from the topic before the next action.
            self._stale = True
            self._unsealed = None
            producer, self._producer = self._producer, None
            if producer is not None:
                await _abandoned(producer)
            raise

    async def _write(
        self,
        records: Sequence[tuple[str, bytes | None]],
        offsets: Mapping[TopicPartition, int] | None,
        group: str | None,
    ) -> None:
        """One transaction that also seals the partitions the previous one wrote (gap 16).

        A broker restarted right after a commit was answered may never write that
        commit's markers to some partitions (gap 16, ``exactly_once/confirmed_commits.py``),
        leaving an answered change invisible. Each transaction therefore adds the previous one's
        partitions, and after a failure or a start every partition: its commit markers
        commit whatever of this producer id is still open there, and nothing otherwise.
        """
        producer = await self._started_producer()
        sealing = self._unsealed
        if sealing is None:
            sealing = {
                TopicPartition(self.topic, p) for p in await producer.partitions_for(self.topic)
            }
        # Not ``producer.transaction()``: its abort on failure waits for the broker, so a
        # timeout could not end it. A failed transaction is ended by the next producer.
        await producer.begin_transaction()
        sent = [await producer.send(self.topic, value, key=key.encode()) for key, value in records]
        written = {TopicPartition(m.topic, m.partition) for m in await asyncio.gather(*sent)}
        for tp in sealing - written:
            producer._txn_manager.maybe_add_partition_to_txn(tp)
        if offsets and group is not None:
            await producer.send_offsets_to_transaction(dict(offsets), group)
        await producer.commit_transaction()
        self._unsealed = written

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _start_feeder(self, name: str, topic: str) -> None:
        self._feeders[name] = asyncio.create_task(self._feed(name, topic), name=f"feed {name}")

    async def _feed(self, name: str, topic: str) -> None:
        """Send every record of ``topic`` to queue ``name``, its offset in the same transaction."""
        group = f"{self.topic}-feed-{name}"
        while name in self.feeds:
            consumer = AIOKafkaConsumer(
                topic,
                bootstrap_servers=self.bootstrap,
                group_id=group,
                enable_auto_commit=False,
                isolation_level="read_committed",
                auto_offset_reset="earliest",
            )
            try:
                await consumer.start()
                while name in self.feeds:
                    batches = await consumer.getmany(timeout_ms=READ_TIMEOUT_MS, max_records=100)
                    if batches:
                        await self._feed_batch(name, batches, group)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the consumer resumes from the committed offsets
                logger.warning("queue %s: feeding from %s failed, resuming: %r", name, topic, error)
                await asyncio.sleep(1.0)
            finally:
                await consumer.stop()

    async def _feed_batch(
        self, name: str, batches: Mapping[TopicPartition, list[Any]], group: str
    ) -> None:
        async with self._lock:
            await self._fresh()
            queue = self.queues.get(name)
            if queue is None:
                return
            copy, now = queue.copy(), self.clock()
            offsets = {}
            for tp, records in batches.items():
                for record in records:
                    try:
                        copy.send(**_fed_message(record, fifo=queue.attributes.fifo), now=now)
                    except AwsError as refused:
                        logger.warning(
                            "queue %s: %s[%d]@%d not fed: %s",
                            name,
                            tp.topic,
                            tp.partition,
                            record.offset,
                            refused.message,
                        )
                offsets[tp] = records[-1].offset + 1
            await self._store({name: (queue, copy)}, offsets=offsets, group=group)
            self.queues[name] = copy
        await self._notify()

    async def create_queue(
        self, name: str, attributes: Mapping[str, object], tags: Mapping[str, object] | None = None
    ) -> str:
        """CreateQueue: the queue's name (the same queue again if its attributes agree).

        A tag ``ecommerce-streams:source-topic`` feeds the queue from that Kafka topic.
        """
        fifo = attributes.get("FifoQueue") == "true"
        check_queue_name(name, fifo=fifo)
        wanted = attributes_from_request(attributes)
        source = _source_topic(tags or {})
        async with self._lock:
            await self._fresh()
            existing = self.queues.get(name)
            if existing is not None:
                if existing.attributes != wanted:
                    raise AwsError(
                        "QueueAlreadyExists",
                        "A queue already exists with the same name and a different value "
                        "for attribute(s)",
                    )
                return name
            self._check_redrive(wanted)
            queue = Queue(name, wanted)
            feed = [] if source is None else [(f"f/{name}", json.dumps({"topic": source}).encode())]
            await self._store({name: (None, queue)}, extra=feed)
            self.queues[name] = queue
            if source is not None:
                self.feeds[name] = source
                self._start_feeder(name, source)
        return name

    def _check_redrive(self, attributes: QueueAttributes) -> None:
        redrive = attributes.redrive
        if redrive is not None and redrive.dead_letter_queue not in self.queues:
            raise AwsError(
                "InvalidParameterValue",
                f"Value for parameter RedrivePolicy is invalid. Reason: Dead letter target "
                f"does not exist: {queue_arn(redrive.dead_letter_queue)}",
            )

    async def set_attributes(self, name: str, attributes: Mapping[str, object]) -> None:
        """SetQueueAttributes."""
        queue = self.queues.get(name)
        if queue is None:
            raise _not_found(name)
        changed = attributes_from_request(attributes, base=queue.attributes)
        if changed.fifo != queue.attributes.fifo:
            raise AwsError("InvalidAttributeName", "FifoQueue cannot be changed.")
        self._check_redrive(changed)

        def apply(copy: Queue) -> None:
            copy.attributes = changed

        await self._act(name, apply)

    async def delete_queue(self, name: str) -> None:
        """DeleteQueue: the queue and every message in it."""
        async with self._lock:
            await self._fresh()
            queue = self.queues.get(name)
            if queue is None:
                raise _not_found(name)
            feed: list[tuple[str, bytes | None]] = (
                [(f"f/{name}", None)] if name in self.feeds else []
            )
            await self._store({name: (queue, None)}, extra=feed)
            del self.queues[name]
            self.feeds.pop(name, None)
            feeder = self._feeders.pop(name, None)
        if feeder is not None:
            feeder.cancel()

    def attributes(self, name: str) -> dict[str, str]:
        """GetQueueAttributes: settings, ARN and approximate counts."""
        queue = self.queues.get(name)
        if queue is None:
            raise _not_found(name)
        return {
            **queue.attributes.to_strings(),
            "QueueArn": queue_arn(name),
            **queue.copy().counts(self.clock()),
        }

    async def send(self, name: str, body: str, **options: Any) -> Message:
        """SendMessage (``delay_seconds``, ``attributes``, ``group_id``, ``deduplication_id``)."""
        now, message_id = self.clock(), self.new_id()
        return await self._act(
            name, lambda q: q.send(body, now=now, message_id=message_id, **options)
        )

    async def receive(
        self,
        name: str,
        *,
        max_messages: int = 1,
        visibility_timeout: int | None = None,
        wait_seconds: float = 0.0,
    ) -> list[Received]:
        """ReceiveMessage, waiting up to ``wait_seconds`` for a message (long polling)."""
        deadline = time.monotonic() + wait_seconds
        while True:
            received = await self._receive_once(name, max_messages, visibility_timeout)
            remaining = deadline - time.monotonic()
            if received or remaining <= 0:
                return received
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), min(remaining, 1.0))

    async def _receive_once(
        self, name: str, max_messages: int, visibility_timeout: int | None
    ) -> list[Received]:
        async with self._lock:
            await self._fresh()
            queue = self.queues.get(name)
            if queue is None:
                raise _not_found(name)
            copy, now = queue.copy(), self.clock()
            received, moved = copy.receive(
                now=now,
                new_handle=self.new_id,
                max_messages=max_messages,
                visibility_timeout=visibility_timeout,
            )
            changes: dict[str, tuple[Queue | None, Queue | None]] = {name: (queue, copy)}
            redrive = queue.attributes.redrive
            if moved and redrive is not None:
                dead = self.queues.get(redrive.dead_letter_queue)
                target = copy if dead is None else dead.copy()  # its queue gone: they stay
                for message in moved:
                    target.accept_moved(message, now=now, source=name)
                if dead is not None:
                    changes[dead.name] = (dead, target)
            await self._store(changes)
            for changed_name, (_, after) in changes.items():
                if after is not None:
                    self.queues[changed_name] = after
        return received

    async def save_task(self, handle: str, task: Mapping[str, Any]) -> None:
        """Store a move task's state (its own transaction)."""
        async with self._lock:
            await self._fresh()
            await self._store({}, extra=[_task_record(handle, task)])
            self.move_tasks[handle] = dict(task)

    async def redrive(
        self,
        source: str,
        message_id: str,
        destination: str | None,
        task: tuple[str, Mapping[str, Any]] | None = None,
    ) -> bool:
        """Move one message of ``source`` to ``destination`` (default: where it came from) as a
        new message, in one transaction with ``task``'s progress; False if it is gone or in
        flight meanwhile (then nothing is written)."""
        async with self._lock:
            await self._fresh()
            dead = self.queues.get(source)
            if dead is None:
                raise _not_found(source)
            now = self.clock()
            message = dead.messages.get(message_id)
            if message is None or message.in_flight(now):
                return False
            target_name = destination or message.moved_from
            if target_name is None:
                raise AwsError(
                    "InvalidParameterValue",
                    f"message {message_id} did not come from a queue: name a DestinationArn",
                )
            target = self.queues.get(target_name)
            if target is None:
                raise _not_found(target_name)
            dead_copy, target_copy = dead.copy(), target.copy()
            dead_copy.take(message_id)
            fifo = target.attributes.fifo
            new_id = self.new_id()
            target_copy.send(
                message.body,
                now=now,
                message_id=new_id,
                attributes=message.attributes,
                group_id=(message.group_id or "redrive") if fifo else None,
                deduplication_id=new_id if fifo else None,
            )
            progress = [] if task is None else [_task_record(*task)]
            await self._store(
                {source: (dead, dead_copy), target_name: (target, target_copy)}, extra=progress
            )
            self.queues[source], self.queues[target_name] = dead_copy, target_copy
            if task is not None:
                self.move_tasks[task[0]] = dict(task[1])
        await self._notify()
        return True

    async def delete_message(self, name: str, receipt_handle: str) -> None:
        """DeleteMessage."""
        await self._act(name, lambda q: q.delete(receipt_handle))

    async def change_visibility(self, name: str, receipt_handle: str, timeout: int) -> None:
        """ChangeMessageVisibility."""
        now = self.clock()
        await self._act(name, lambda q: q.change_visibility(receipt_handle, timeout, now=now))


def _task_record(handle: str, task: Mapping[str, Any]) -> tuple[str, bytes]:
    return f"t/{handle}", json.dumps(dict(task)).encode()


def _records_of(name: str, queue: Queue | None) -> dict[str, bytes]:
    """Every key and value of one queue's state."""
    if queue is None:
        return {}
    records = {f"q/{name}": json.dumps(queue.attributes.to_strings()).encode()}
    for message in queue.messages.values():
        records[f"m/{name}/{message.message_id}"] = json.dumps(message_to_json(message)).encode()
    for dedup_id, (message_id, at) in queue.deduplicated.items():
        records[f"d/{name}/{dedup_id}"] = json.dumps([message_id, at]).encode()
    return records


def _changed_records(
    name: str, before: Queue | None, after: Queue | None
) -> list[tuple[str, bytes | None]]:
    """The keys whose value changed between two states of one queue (None: deleted)."""
    old, new = _records_of(name, before), _records_of(name, after)
    changed: list[tuple[str, bytes | None]] = [
        (key, value) for key, value in new.items() if old.get(key) != value
    ]
    changed += [(key, None) for key in old if key not in new]
    return changed


async def read_state(bootstrap: str, topic: str) -> dict[str, Any]:
    """Every live key of the queues' topic and its document, read_committed to the end."""
    consumer = committed_reader(bootstrap)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or {0}
        assigned = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        state: dict[str, Any] = {}
        while any([(await consumer.position(tp)) < end for tp, end in ends.items()]):
            batches = await consumer.getmany(timeout_ms=READ_TIMEOUT_MS)
            for records in batches.values():
                for record in records:
                    key = record.key.decode() if record.key else ""
                    if record.value is None:
                        state.pop(key, None)
                    else:
                        state[key] = json.loads(record.value)
    finally:
        await consumer.stop()
    return state


async def read_queues(bootstrap: str, topic: str) -> dict[str, Queue]:
    """The queues as stored, for tools that look without serving (none if no topic yet)."""
    consumer = committed_reader(bootstrap)
    await consumer.start()
    try:
        exists = topic in await consumer.topics()
    finally:
        await consumer.stop()
    return queues_from(await read_state(bootstrap, topic)) if exists else {}


def queues_from(state: Mapping[str, Any]) -> dict[str, Queue]:
    """The queues a read of the whole topic holds."""
    queues: dict[str, Queue] = {}
    for key, document in state.items():
        if key.startswith("q/"):
            name = key[2:]
            messages = [
                message_from_json(value) for k, value in state.items() if k.startswith(f"m/{name}/")
            ]
            dedup = {
                k.split("/", 2)[2]: (value[0], value[1])
                for k, value in state.items()
                if k.startswith(f"d/{name}/")
            }
            queues[name] = Queue(name, attributes_from_request(document), messages, dedup)
    for key, task in state.items():
        # A message sent after a restore must not take a number a move task's cutoff covers.
        if key.startswith("t/") and task["source"] in queues:
            queues[task["source"]].number_after(task["up_to"])
    return queues


SOURCE_TAG = "ecommerce-streams:source-topic"
"""The CreateQueue tag that feeds a queue from one of our Kafka topics."""
_FED_IDS = uuid.UUID("c7f1e2a4-6b0d-5d8e-9f3a-1b2c3d4e5f60")


def _source_topic(tags: Mapping[str, object]) -> str | None:
    source = tags.get(SOURCE_TAG)
    if source is None:
        return None
    if not isinstance(source, str) or not KAFKA_TOPIC.fullmatch(source):
        raise AwsError("InvalidParameterValue", f"Tag {SOURCE_TAG} must name a Kafka topic.")
    return source


def _fed_message(record: Any, *, fifo: bool) -> dict[str, Any]:
    """SendMessage's arguments for one record: the same id whenever it is fed again."""
    message_id = str(uuid.uuid5(_FED_IDS, f"{record.topic}/{record.partition}/{record.offset}"))
    raw: bytes = record.value or b""
    attributes = {
        key: {"DataType": "String", "StringValue": bytes(value).decode("utf-8", "replace")}
        for key, value in (record.headers or ())[:10]
    }
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        body = base64.b64encode(raw).decode("ascii")
        attributes["ContentEncoding"] = {"DataType": "String", "StringValue": "base64"}
    options: dict[str, Any] = {"message_id": message_id, "attributes": attributes}
    if fifo:
        options["group_id"] = (record.key or b"-").decode("utf-8", "replace") or "-"
        options["deduplication_id"] = message_id
    return {"body": body or " ", **options}


_closing: set[asyncio.Task[None]] = set()


async def _abandoned(producer: AIOKafkaProducer) -> None:
    """Close the producer of a failed transaction without delivering anything it still holds.

    ``stop`` delivers pending records first, even minutes later when a restarted broker is
    back: such a late record reopens the failed transaction, the next producer's start
    aborts it, and the abort marker also aborts an answered commit whose markers the
    restarted broker skipped (gap 16). So the producer's client refuses every further
    request (a coordinator lookup retries until the broker is back, then would add the
    partition to a new transaction) and its sender ends, failing whatever is pending.
    """

    async def refused(*args: object, **kwargs: object) -> None:
        raise KafkaError("producer abandoned after a failed transaction")

    producer.client.send = refused
    sender = producer._sender.sender_task if producer._sender is not None else None
    if sender is not None:
        sender.cancel()
    await _stopped(producer)


async def _stopped(producer: AIOKafkaProducer) -> None:
    """Close a producer; when the broker is away, give up waiting after a few seconds."""
    closing = asyncio.create_task(producer.stop())
    _closing.add(closing)
    closing.add_done_callback(_closing.discard)
    await asyncio.wait({closing}, timeout=5.0)
