"""The dead-letter queue: list and show dead letters, and redrive them to their source topic.

A letter is named by its place in the ``dead-letters`` topic, ``<partition>:<offset>``.
A redrive resends the original bytes (or an operator's fix that keeps the same
``event_id``) with the original key to the original source topic, so the stage sees the
same event again and its deduplication makes the effects happen once.

Redrives are recorded in their own compacted topic, ``dead-letters-redriven``, keyed by
the letter, not as marker records in ``dead-letters``: every record of ``dead-letters``
stays a ``DeadLetter`` (``verify`` and other readers need no special case), and the
latest state of every letter is one short read. The resent message and its record are
written in one Kafka transaction, so a crash leaves both or neither; the transactional
id is fixed per app, so two redrives running at once fence each other. ``--all`` skips
letters already redriven; resending one anyway (``again=True``) is still harmless within
the dedup window, because the event keeps its ``event_id``.
"""

import contextlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.admin import NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from ecommerce_streams.harness.verify.reading import TopicReader
from ecommerce_streams.kafka_admin import admin_client
from ecommerce_streams.topic_names import TopicNames
from models.dead_letter import DeadLetter
from models.envelope import InvalidEvent, decode_event
from models.redrive import REDRIVEN_HEADER, Redrive

PREVIEW_CHARS = 60
ERROR_CHARS = 100


@dataclass(frozen=True)
class QueuedLetter:
    """A dead letter, where it sits in ``dead-letters``, and its last redrive if any."""

    partition: int
    offset: int
    letter: DeadLetter
    redrive: Redrive | None = None

    @property
    def id(self) -> str:
        """``<partition>:<offset>`` of the letter in the dead-letters topic."""
        return f"{self.partition}:{self.offset}"

    def summary(self) -> str:
        """One line: id, origin, stage, error and the start of the original message."""
        letter = self.letter
        preview = letter.original()[:PREVIEW_CHARS].decode(errors="replace")
        state = f"  [redriven {self.redrive.redriven_at:%Y-%m-%d %H:%M:%S}]" if self.redrive else ""
        return (
            f"{self.id}  {letter.source_topic}[{letter.partition}]@{letter.offset}  "
            f"{letter.stage}  {letter.error[:ERROR_CHARS]}  {preview!r}{state}"
        )

    def details(self) -> str:
        """Every field, the key and the original message decoded (JSON pretty-printed)."""
        letter = self.letter
        key = letter.original_key()
        lines = [
            f"letter:       {self.id}",
            f"source:       {letter.source_topic}[{letter.partition}]@{letter.offset}",
            f"stage:        {letter.stage}",
            f"error:        {letter.error}",
            f"attempts:     {letter.attempts}",
            f"failed at:    {letter.first_failed_at.isoformat()}",
            f"key:          {key.decode(errors='backslashreplace') if key is not None else None}",
        ]
        if self.redrive is not None:
            redrive = self.redrive
            lines.append(
                f"redriven:     {redrive.redriven_at.isoformat()} to "
                f"{redrive.source_topic}[{redrive.partition}]@{redrive.offset}"
                f"{' (fixed)' if redrive.fixed else ''}"
            )
        lines += ["message:", readable(letter.original())]
        return "\n".join(lines)


def readable(raw: bytes) -> str:
    """Message bytes for a human: indented JSON when they parse, else escaped text."""
    try:
        return json.dumps(orjson.loads(raw), indent=2, ensure_ascii=False)
    except orjson.JSONDecodeError:
        return raw.decode(errors="backslashreplace")


async def read_queue(bootstrap: str, names: TopicNames) -> list[QueuedLetter]:
    """Every dead letter in topic order, each with its latest redrive (read_committed)."""
    topics = [names.dead_letters, names.dead_letters_redriven]
    async with TopicReader(bootstrap, topics) as reader:
        await reader.catch_up()
    redrives: dict[str, Redrive] = {}
    for record in reader.records[names.dead_letters_redriven]:
        if record.value is not None:
            redrive = Redrive.from_bytes(record.value)
            redrives[redrive.letter] = redrive
    queue = []
    for record in sorted(reader.records[names.dead_letters], key=lambda r: r.position):
        if record.value is None:
            continue
        letter = DeadLetter.from_bytes(record.value)
        latest = redrives.get(f"{record.partition}:{record.offset}")
        queue.append(QueuedLetter(record.partition, record.offset, letter, latest))
    return queue


def find(queue: Sequence[QueuedLetter], wanted: str) -> QueuedLetter:
    """The letter named ``<partition>:<offset>``, or by offset alone when that is unambiguous."""
    if ":" in wanted:
        matches = [q for q in queue if q.id == wanted]
    else:
        matches = [q for q in queue if str(q.offset) == wanted]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise LookupError(f"no dead letter {wanted}")
    raise LookupError(
        f"offset {wanted} names {len(matches)} letters ({', '.join(q.id for q in matches)}): "
        "give <partition>:<offset>"
    )


def choose(
    queue: Sequence[QueuedLetter], wanted: Sequence[str], *, everything: bool = False
) -> list[QueuedLetter]:
    """The letters named in ``wanted``, plus (``everything``) every one not redriven yet."""
    chosen = [q for q in queue if q.redrive is None] if everything else []
    return chosen + [find(queue, name) for name in wanted]


class RedriveRefused(ValueError):
    """A letter that must not be redriven as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Resend:
    """What a redrive sends: the letter, the key and value, and whether they were fixed."""

    queued: QueuedLetter
    key: bytes | None
    value: bytes
    event_id: UUID
    fixed: bool


def plan_resend(queued: QueuedLetter, fix: bytes | None = None, *, again: bool = False) -> Resend:
    """Check that the letter (or its fix) can be applied now; raise RedriveRefused if not.

    A fix must decode, keep the original's ``event_id`` (when the original had a readable
    one) and its partition key; resending an unfixed letter that does not decode would
    only dead-letter it again.
    """
    letter = queued.letter
    if queued.redrive is not None and not again:
        raise RedriveRefused(
            f"{queued.id} was already redriven at {queued.redrive.redriven_at.isoformat()}; "
            "pass again=True (--again) to resend it anyway"
        )
    value = letter.original() if fix is None else fix
    try:
        envelope = decode_event(value)
    except InvalidEvent as invalid:
        hint = "" if fix is not None else "; supply a fixed message (--fix-with FILE)"
        raise RedriveRefused(f"{queued.id} is still invalid: {invalid.reason}{hint}") from None
    key = letter.original_key()
    if key is not None and envelope.data.key != key.decode(errors="replace"):
        raise RedriveRefused(
            f"{queued.id}: the event's key {envelope.data.key!r} is not the original key "
            f"{key.decode(errors='replace')!r}"
        )
    if fix is not None:
        original_id = _event_id_of(letter.original())
        if original_id is not None and original_id != envelope.event_id:
            raise RedriveRefused(
                f"{queued.id}: the fix has event_id {envelope.event_id}, the original "
                f"{original_id}; keep the original id so deduplication can work"
            )
    return Resend(queued, key, value, envelope.event_id, fixed=fix is not None)


def plan_resends(
    chosen: Iterable[QueuedLetter], fix: bytes | None = None, *, again: bool = False
) -> tuple[list[Resend], list[RedriveRefused]]:
    """Plan each chosen letter's resend; return the plans and the refusals."""
    planned, refused = [], []
    for queued in chosen:
        try:
            planned.append(plan_resend(queued, fix, again=again))
        except RedriveRefused as refusal:
            refused.append(refusal)
    return planned, refused


async def redrive(
    bootstrap: str,
    names: TopicNames,
    resends: Iterable[Resend],
    *,
    transactional_id: str,
    partitions: int,
    replication: int = 1,
) -> list[Redrive]:
    """Resend each planned message and record its redrive, all in one transaction."""
    resends = list(resends)
    if not resends:
        return []
    await ensure_redrive_log(bootstrap, names, partitions=partitions, replication=replication)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, transactional_id=transactional_id, acks="all"
    )
    await producer.start()
    done: list[Redrive] = []
    try:
        async with producer.transaction():
            for resend in resends:
                letter = resend.queued.letter
                sent = await producer.send_and_wait(
                    letter.source_topic,
                    resend.value,
                    key=resend.key,
                    headers=[(REDRIVEN_HEADER, resend.queued.id.encode())],
                )
                record = Redrive(
                    letter=resend.queued.id,
                    source_topic=letter.source_topic,
                    partition=sent.partition,
                    offset=sent.offset,
                    event_id=resend.event_id,
                    fixed=resend.fixed,
                    redriven_at=datetime.now(UTC),
                )
                await producer.send_and_wait(
                    names.dead_letters_redriven, record.to_bytes(), key=resend.queued.id.encode()
                )
                done.append(record)
    finally:
        await producer.stop()
    return done


async def ensure_redrive_log(
    bootstrap: str, names: TopicNames, *, partitions: int, replication: int = 1
) -> None:
    """Create the compacted ``dead-letters-redriven`` topic if it does not exist."""
    async with admin_client(bootstrap) as admin:
        if names.dead_letters_redriven in await admin.list_topics():
            return
        topic = NewTopic(
            names.dead_letters_redriven,
            partitions,
            replication,
            topic_configs={"cleanup.policy": "compact"},
        )
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics([topic], timeout_ms=30_000)


def _event_id_of(raw: bytes) -> UUID | None:
    """The ``event_id`` of a message that is at least a JSON object with a UUID there."""
    try:
        document = orjson.loads(raw)
        return UUID(document["event_id"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return None
