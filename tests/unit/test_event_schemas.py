"""Event schemas from the models: closed draft-07 JSON Schemas that accept what the decoder does."""

import json
from typing import Any

import fastjsonschema
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecommerce_streams.schemas.evolution import by_subject, current_schemas
from ecommerce_streams.schemas.released import released_schemas, releases
from ecommerce_streams.topic_names import TopicNames
from models.envelope import InvalidEvent, decode_event, encode_event
from models.events import PAYLOAD_TYPES
from models.schemas.json_schema import DRAFT_07, canonical, event_schema, subject
from tests.unit.event_samples import events_by_type
from tests.unit.test_models_decode_fuzz import FUZZ, tampered_documents

VALIDATORS = {
    event_type: fastjsonschema.compile(schema) for event_type, schema in current_schemas().items()
}


def valid(document: dict[str, Any]) -> bool:
    """Whether the schema of the document's event type accepts it."""
    try:
        VALIDATORS[document["event_type"]](document)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


@pytest.mark.parametrize("event_type", sorted(PAYLOAD_TYPES))
def test_each_event_type_has_a_closed_draft_07_schema_naming_its_type(event_type: str) -> None:
    schema = event_schema(PAYLOAD_TYPES[event_type])

    assert schema["$schema"] == DRAFT_07
    assert schema["properties"]["event_type"] == {"const": event_type, "type": "string"}
    assert schema["additionalProperties"] is False
    assert schema["properties"]["data"]["additionalProperties"] is False
    assert "$defs" not in json.dumps(schema)  # draft-07 keeps them under "definitions"


@pytest.mark.parametrize("event_type", sorted(PAYLOAD_TYPES))
def test_every_sample_event_of_a_type_is_valid_under_its_schema(event_type: str) -> None:
    for event in events_by_type()[event_type]:
        assert valid(orjson.loads(encode_event(event))), event


def test_an_unknown_field_is_refused_by_the_schema_as_by_the_decoder() -> None:
    [event, *_] = events_by_type()["OrderPlaced"]
    document = orjson.loads(encode_event(event))
    document["data"]["coupon"] = "SPRING"

    assert not valid(document)
    with pytest.raises(InvalidEvent):
        decode_event(json.dumps(document).encode())


def test_an_event_is_refused_by_the_schema_of_another_event_type() -> None:
    [event, *_] = events_by_type()["OrderPlaced"]
    document = orjson.loads(encode_event(event))

    with pytest.raises(fastjsonschema.JsonSchemaException):
        VALIDATORS["OrderConfirmed"](document)


@FUZZ
@given(tampered_documents())
def test_whatever_the_decoder_accepts_its_schema_accepts(document: dict[str, Any]) -> None:
    try:
        decode_event(json.dumps(document).encode())
    except InvalidEvent:
        return
    assert valid(document)


def test_a_subject_is_the_topic_name_and_the_event_type() -> None:
    names = TopicNames("shop-eu.")

    subjects = by_subject(current_schemas(), names.name)

    assert subject("shop-eu.orders", "OrderPlaced") == "shop-eu.orders-OrderPlaced"
    assert "shop-eu.orders-OrderPlaced" in subjects
    assert "shop-eu.order-events-OrderConfirmed" in subjects
    assert len(subjects) == len(PAYLOAD_TYPES)


def test_a_schema_is_registered_as_the_same_text_every_time() -> None:
    schema = event_schema(PAYLOAD_TYPES["OrderPlaced"])

    assert canonical(schema) == canonical(json.loads(json.dumps(schema)))


@given(st.sampled_from(sorted(PAYLOAD_TYPES)))
def test_the_last_kept_release_holds_every_event_type(event_type: str) -> None:
    assert event_type in released_schemas(releases()[-1])
