"""A ``POST /events`` body read into source events: every event valid, or none accepted.

Each event is validated by the same :class:`~models.envelope.Envelope` model and the
same size limit that :func:`~models.envelope.decode_event` applies when the agents
read it back, so nothing accepted here can become a dead letter for being invalid.
Only events the shop's own systems write are accepted (payloads of the ``orders``,
``payments`` and ``inventory`` topics); derived events are the platform's to write.
"""

from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from ecommerce_streams.web.problems import FieldError, Problem
from models.envelope import MAX_EVENT_BYTES, Envelope, encode_event, field_problem
from models.events import PAYLOAD_TYPES
from models.topics import SOURCE_ROLES, TopicRole

MAX_EVENTS = 500
MAX_REPORTED_ERRORS = 100


@dataclass(frozen=True)
class SourceEvent:
    """A validated event and the exact bytes that will be produced for it."""

    envelope: Envelope
    value: bytes

    @property
    def key(self) -> bytes:
        """The partition key: the payload's key (order id or sku)."""
        return self.envelope.data.key.encode()

    @property
    def topic(self) -> TopicRole:
        """The role of the source topic the payload travels on."""
        return self.envelope.data.topic


def read_batch(body: bytes) -> list[SourceEvent]:
    """Parse one envelope or an array of 1..500; raise a 400 Problem naming every bad field."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _invalid(f"the body is not UTF-8 JSON: {exc}") from None
    if isinstance(document, dict):
        documents: list[Any] = [document]
    elif isinstance(document, list):
        documents = document
    else:
        raise _invalid("the body must be an event object or an array of event objects")
    if not 1 <= len(documents) <= MAX_EVENTS:
        raise _invalid(f"a batch holds 1 to {MAX_EVENTS} events, not {len(documents)}")
    events: list[SourceEvent] = []
    errors: list[FieldError] = []
    for index, item in enumerate(documents):
        outcome = _read_event(index, item)
        if isinstance(outcome, SourceEvent):
            events.append(outcome)
        else:
            errors.extend(outcome)
    if errors:
        invalid = len({error.index for error in errors})
        shown = "" if len(errors) <= MAX_REPORTED_ERRORS else f"; the first {MAX_REPORTED_ERRORS}"
        raise _invalid(
            f"{invalid} of {len(documents)} events are invalid ({len(errors)} errors{shown});"
            " nothing was accepted",
            errors[:MAX_REPORTED_ERRORS],
        )
    return events


def _read_event(index: int, document: Any) -> SourceEvent | list[FieldError]:
    """Validate one event as the agents will, and require a source event type."""
    if not isinstance(document, dict):
        return [FieldError(index, "", "an event must be a JSON object")]
    event_type = document.get("event_type")
    payload_class = PAYLOAD_TYPES.get(event_type) if isinstance(event_type, str) else None
    if payload_class is not None and payload_class.topic not in SOURCE_ROLES:
        return [
            FieldError(
                index,
                "event_type",
                f"{event_type} events are derived by the platform; only events of the"
                f" {', '.join(sorted(SOURCE_ROLES))} topics are accepted",
            )
        ]
    try:
        envelope = Envelope.model_validate(document)
    except ValidationError as exc:
        return [
            _field_error(index, problem)
            for problem in exc.errors(include_url=False, include_input=False)
        ]
    value = encode_event(envelope)
    if len(value) > MAX_EVENT_BYTES:
        return [FieldError(index, "", f"event is {len(value)} bytes, over {MAX_EVENT_BYTES}")]
    return SourceEvent(envelope, value)


def _field_error(index: int, problem: ErrorDetails) -> FieldError:
    """One pydantic error of the event at ``index`` as a field path and a message."""
    return FieldError(index, *field_problem(problem))


def _invalid(detail: str, errors: list[FieldError] | None = None) -> Problem:
    return Problem(400, "invalid-events", "Invalid events", detail, errors=errors or ())
