"""decode_event on hostile input: it returns an Envelope or raises InvalidEvent, nothing else,
and decides exactly as the step-by-step decoding it falls back to."""

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.envelope import Envelope, InvalidEvent, decode_document, decode_event, encode_event
from models.events import PAYLOAD_TYPES, OrderLine, OrderPlaced

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["19.99", "EUR", "OrderPlaced", "2026-03-01T12:00:00Z", "o-1", ""])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


def valid_document() -> dict[str, Any]:
    """A valid envelope as a JSON document."""
    placed = OrderPlaced(
        order_id="o-1",
        customer_id="c-1",
        lines=(OrderLine(sku="MUG-RED", qty=2, unit_price="9.99"),),
        currency="EUR",
        total="19.98",
        shipping_address="1 Harbour Road, Cork",
    )
    wrapped = Envelope.of(
        placed,
        event_id=UUID("00000000-0000-4000-8000-000000000001"),
        source="web",
        occurred_at=datetime(2026, 3, 1, 12, tzinfo=UTC),
    )
    return orjson.loads(encode_event(wrapped))


def paths(document: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside a JSON document."""
    found = [prefix]
    if isinstance(document, dict):
        for name, value in document.items():
            found += paths(value, (*prefix, name))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += paths(value, (*prefix, index))
    return found


@st.composite
def tampered_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid envelope with one value replaced or removed, or its event type swapped."""
    document = valid_document()
    path = draw(st.sampled_from(paths(document)[1:]))
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    action = draw(st.sampled_from(["replace", "remove", "retype"]))
    if action == "remove" and isinstance(parent, dict):
        del parent[path[-1]]
    elif action == "retype":
        document["event_type"] = draw(st.sampled_from(sorted(PAYLOAD_TYPES)))
    else:
        parent[path[-1]] = draw(json_values)
    return document


def decodes_or_refuses(raw: bytes) -> None:
    """Assert the only outcomes: an Envelope that round-trips, or InvalidEvent with a reason;
    and the same outcome as decoding step by step (the fast path accepts nothing more)."""
    try:
        decoded = decode_event(raw)
    except InvalidEvent as refused:
        assert refused.reason
        try:
            decode_document(raw)
        except InvalidEvent as also_refused:
            assert also_refused.reason == refused.reason
        else:
            raise AssertionError("decoding step by step accepts what decode_event refuses")
        return
    assert isinstance(decoded, Envelope)
    assert decode_document(raw) == decoded
    assert decode_event(encode_event(decoded)) == decoded


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes_decode_or_are_refused(raw: bytes) -> None:
    decodes_or_refuses(raw)


@FUZZ
@given(json_values)
def test_arbitrary_json_decodes_or_is_refused(document: Any) -> None:
    decodes_or_refuses(json.dumps(document).encode())


@FUZZ
@given(st.dictionaries(st.sampled_from(sorted(valid_document())), json_values, max_size=8))
def test_arbitrary_json_objects_with_envelope_fields_decode_or_are_refused(
    document: dict[str, Any],
) -> None:
    decodes_or_refuses(json.dumps(document).encode())


@FUZZ
@given(tampered_documents())
def test_tampered_valid_events_decode_or_are_refused(document: dict[str, Any]) -> None:
    decodes_or_refuses(json.dumps(document).encode())


@FUZZ
@given(st.sampled_from(sorted(PAYLOAD_TYPES)), json_values)
def test_every_event_type_with_arbitrary_data_decodes_or_is_refused(
    event_type: str, data: Any
) -> None:
    document = valid_document()
    document["event_type"] = event_type
    document["data"] = data
    decodes_or_refuses(json.dumps(document).encode())


@FUZZ
@given(tampered_documents(), st.text(max_size=8), json_values)
def test_valid_events_with_an_added_field_decode_as_step_by_step(
    document: dict[str, Any], name: str, value: Any
) -> None:
    document[name] = value
    document["schema_version"] = 3
    decodes_or_refuses(json.dumps(document).encode())


@FUZZ
@given(st.text(max_size=20))
def test_any_text_in_a_string_field_decodes_as_step_by_step(text: str) -> None:
    document = valid_document()
    document["correlation_id"] = text
    document["data"]["shipping_address"] = text
    decodes_or_refuses(json.dumps(document).encode())
    decodes_or_refuses(json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass"))
