"""What was read back, decoded: each input's fate, the derived events, the dead letters."""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import ValidationError

from ecommerce_streams.harness.verify.records import Record
from models.dead_letter import DeadLetter
from models.envelope import Envelope, InvalidEvent, decode_event
from models.topics import TopicRole

Fate = Literal["applied", "duplicate", "dead_lettered", "unaccounted"]
DeadLetterCategory = Literal["invalid", "misrouted", "refused"]


@dataclass(frozen=True)
class Input:
    """One message of a source topic, decoded if it could be, and what became of it."""

    record: Record
    envelope: Envelope | None
    error: str | None
    fate: Fate


@dataclass(frozen=True)
class Letter:
    """A dead letter as read from the dead-letters topic."""

    record: Record
    letter: DeadLetter
    category: DeadLetterCategory

    @property
    def source(self) -> tuple[str, int, int]:
        """The (topic, partition, offset) of the message it sets aside."""
        return (self.letter.source_topic, self.letter.partition, self.letter.offset)


@dataclass
class History:
    """Everything read back, decoded once, for the invariants to check."""

    inputs: list[Input] = field(default_factory=list)
    outputs: dict[TopicRole, list[tuple[Record, Envelope]]] = field(default_factory=dict)
    output_counts: dict[str, int] = field(default_factory=dict)
    undecodable_outputs: list[tuple[str, Record, str]] = field(default_factory=list)
    letters: list[Letter] = field(default_factory=list)
    unreadable_letters: list[tuple[Record, str]] = field(default_factory=list)
    letters_by_source: dict[tuple[str, int, int], list[Letter]] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        inputs: Sequence[Record],
        outputs: Mapping[TopicRole, Sequence[Record]],
        dead_letters: Sequence[Record],
    ) -> "History":
        """Decode every record and decide the fate of each input message."""
        history = cls()
        history._read_letters(dead_letters)
        history._read_outputs(outputs)
        history._read_inputs(inputs)
        return history

    def _read_letters(self, records: Sequence[Record]) -> None:
        by_source: dict[tuple[str, int, int], list[Letter]] = defaultdict(list)
        for record in records:
            try:
                letter = DeadLetter.model_validate_json(record.value or b"")
            except ValidationError as exc:
                reason = exc.errors(include_url=False)[0]["msg"]
                self.unreadable_letters.append((record, reason))
                continue
            entry = Letter(record, letter, _category(letter))
            self.letters.append(entry)
            by_source[entry.source].append(entry)
        self.letters_by_source = dict(by_source)

    def _read_outputs(self, outputs: Mapping[TopicRole, Sequence[Record]]) -> None:
        for role, records in outputs.items():
            self.output_counts[role] = len(records)
            decoded = self.outputs.setdefault(role, [])
            for record in records:
                try:
                    decoded.append((record, decode_event(record.value or b"")))
                except InvalidEvent as invalid:
                    self.undecodable_outputs.append((role, record, invalid.reason))

    def _read_inputs(self, records: Sequence[Record]) -> None:
        seen: set[object] = set()
        for record in sorted(records, key=lambda r: r.position):
            try:
                envelope, error = decode_event(record.value or b""), None
            except InvalidEvent as invalid:
                envelope, error = None, invalid.reason
            fate: Fate
            if record.position in self.letters_by_source:
                fate = "dead_lettered"
            elif envelope is None:
                fate = "unaccounted"
            elif envelope.event_id in seen:
                fate = "duplicate"
            else:
                fate = "applied"
                seen.add(envelope.event_id)
            self.inputs.append(Input(record, envelope, error, fate))

    def derived(self, role: TopicRole) -> list[Envelope]:
        """The decoded events of one output role, in the order read."""
        return [envelope for _, envelope in self.outputs.get(role, [])]

    def applied(self) -> list[Envelope]:
        """Input events that took effect: valid, first seen and not dead-lettered."""
        return [i.envelope for i in self.inputs if i.fate == "applied" and i.envelope is not None]


def _category(letter: DeadLetter) -> DeadLetterCategory:
    """Why a message was set aside, judged from its original bytes as the pipeline does."""
    try:
        envelope = decode_event(letter.original())
    except InvalidEvent:
        return "invalid"
    key = letter.original_key()
    if key is None or key.decode(errors="replace") != envelope.data.key:
        return "misrouted"
    return "refused"
