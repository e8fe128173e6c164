"""The envelope: what it accepts, how it is encoded, and how derived events are named."""

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid5

import orjson
import pytest
from pydantic import ValidationError

from models.envelope import (
    MAX_EVENT_BYTES,
    NAMESPACE,
    SCHEMA_VERSION,
    Envelope,
    InvalidEvent,
    decode_event,
    derive,
    encode_event,
)
from models.events import PAYLOAD_TYPES, OrderLine, OrderPlaced, ReserveStock, StockAdjusted
from tests.unit.event_samples import events_by_type

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EVENT_ID = UUID("00000000-0000-4000-8000-000000000001")


def placed() -> OrderPlaced:
    """A two-line order."""
    return OrderPlaced(
        order_id="o-1",
        customer_id="c-1",
        lines=(
            OrderLine(sku="MUG-RED", qty=2, unit_price="9.99"),
            OrderLine(sku="TEE-L", qty=1, unit_price="20"),
        ),
        currency="EUR",
        total="39.98",
        shipping_address="1 Harbour Road, Cork",
    )


def envelope() -> Envelope:
    """The order wrapped as it comes from the web shop."""
    return Envelope.of(placed(), event_id=EVENT_ID, source="web", occurred_at=AT)


def wire() -> dict:
    """The envelope as a JSON document, ready to be tampered with."""
    return orjson.loads(encode_event(envelope()))


def reason_for(document: dict) -> str:
    """Decode a JSON document that must be refused, returning the reason."""
    with pytest.raises(InvalidEvent) as refused:
        decode_event(orjson.dumps(document))
    return refused.value.reason


def test_encoded_event_decodes_to_an_equal_envelope() -> None:
    original = envelope()
    decoded = decode_event(encode_event(original))
    assert decoded == original
    assert encode_event(decoded) == encode_event(original)


def test_encoding_is_compact_json() -> None:
    encoded = encode_event(envelope())
    assert b" " not in encoded.replace(b"1 Harbour Road, Cork", b"")


def test_model_validate_json_picks_the_payload_class_by_event_type() -> None:
    decoded = Envelope.model_validate_json(encode_event(envelope()))
    assert type(decoded.data) is OrderPlaced


def test_money_travels_as_a_string() -> None:
    document = wire()
    assert document["data"]["total"] == "39.98"
    assert document["data"]["lines"][1]["unit_price"] == "20.00"


def test_correlation_id_defaults_to_the_partition_key() -> None:
    assert envelope().correlation_id == "o-1"


def test_unknown_event_type_is_rejected_naming_the_field() -> None:
    document = wire()
    document["event_type"] = "OrderTeleported"
    assert reason_for(document) == "event_type: unknown event type 'OrderTeleported'"


def test_unknown_event_type_is_a_validation_error_of_the_model() -> None:
    document = wire()
    document["event_type"] = "OrderTeleported"
    with pytest.raises(ValidationError) as failure:
        Envelope.model_validate_json(orjson.dumps(document))
    assert [error["loc"] for error in failure.value.errors()] == [("event_type",)]


def test_payload_that_does_not_fit_its_event_type_is_rejected() -> None:
    document = wire()
    document["event_type"] = "ReserveStock"
    assert "data.sku: Field required" in reason_for(document)


@pytest.mark.parametrize("version", [0, 100, "1", 1.0, True, -1])
def test_unsupported_schema_version_is_rejected(version: object) -> None:
    document = wire()
    document["schema_version"] = version
    assert reason_for(document).startswith("schema_version: ")


def test_an_event_of_a_newer_version_is_read_by_the_fields_this_version_knows() -> None:
    document = wire()
    document["schema_version"] = SCHEMA_VERSION + 1
    document["data"]["coupon"] = "SPRING"
    document["tenant"] = "eu-1"

    event = decode_event(orjson.dumps(document))

    assert event.schema_version == SCHEMA_VERSION + 1
    assert event.data == decode_event(orjson.dumps(wire())).data


def test_an_unknown_field_in_an_event_of_this_version_is_still_refused() -> None:
    document = wire()
    document["data"]["coupon"] = "SPRING"

    assert "data.coupon: Extra inputs are not permitted" in reason_for(document)


def test_a_newer_version_does_not_excuse_a_known_field_that_is_wrong() -> None:
    document = wire()
    document["schema_version"] = SCHEMA_VERSION + 1
    document["data"]["currency"] = "euros"

    assert reason_for(document).startswith("data.currency: ")


def test_missing_schema_version_means_version_one() -> None:
    document = wire()
    del document["schema_version"]
    assert decode_event(orjson.dumps(document)).schema_version == 1


def test_naive_occurred_at_is_rejected() -> None:
    document = wire()
    document["occurred_at"] = "2026-03-01T12:00:00"
    assert reason_for(document).startswith("occurred_at: ")


def test_epoch_number_occurred_at_is_rejected() -> None:
    document = wire()
    document["occurred_at"] = 1_772_366_400
    assert reason_for(document).startswith("occurred_at: ")


@pytest.mark.parametrize("text", ["0", "1772366400", "2026-03-01 12:00:00+00:00", "2026-03-01"])
def test_occurred_at_that_is_no_rfc_3339_date_time_is_rejected(text: str) -> None:
    # pydantic alone reads a numeric string as epoch seconds; the schema's date-time does not
    document = wire()
    document["occurred_at"] = text
    assert reason_for(document).startswith("occurred_at: ")


def test_occurred_at_is_normalised_to_utc() -> None:
    document = wire()
    document["occurred_at"] = "2026-03-01T14:00:00+02:00"
    decoded = decode_event(orjson.dumps(document))
    assert decoded.occurred_at == AT
    assert decoded.occurred_at.utcoffset() == timedelta(0)


def test_occurred_at_out_of_range_in_utc_is_rejected_not_crashing() -> None:
    document = wire()
    document["occurred_at"] = "0001-01-01T00:00:00+05:00"
    assert reason_for(document).startswith("occurred_at: ")


def test_python_construction_also_normalises_to_utc() -> None:
    east = timezone(timedelta(hours=5))
    wrapped = Envelope.of(
        placed(), event_id=EVENT_ID, source="web", occurred_at=AT.astimezone(east)
    )
    assert wrapped.occurred_at.tzinfo is UTC


def test_unknown_source_is_rejected() -> None:
    document = wire()
    document["source"] = "fax"
    assert reason_for(document).startswith("source: ")


@pytest.mark.parametrize("correlation_id", ["", "x" * 65, 7])
def test_correlation_id_must_be_1_to_64_characters(correlation_id: object) -> None:
    document = wire()
    document["correlation_id"] = correlation_id
    assert reason_for(document).startswith("correlation_id: ")


def test_unexpected_envelope_field_is_rejected() -> None:
    document = wire()
    document["priority"] = "high"
    assert reason_for(document) == "priority: Extra inputs are not permitted"


def test_reason_lists_every_failing_field_path() -> None:
    document = wire()
    document["data"]["lines"][0]["qty"] = 0
    document["data"]["currency"] = "XYZ"
    reason = reason_for(document)
    assert "data.lines.0.qty: Input should be greater than 0" in reason
    assert "data.currency: 'XYZ' is not a circulating ISO 4217 currency code" in reason


def test_bytes_that_are_not_utf8_are_rejected() -> None:
    with pytest.raises(InvalidEvent, match="not UTF-8 JSON"):
        decode_event(b'{"event_type": "\xff"}')


def test_bytes_that_are_not_json_are_rejected() -> None:
    with pytest.raises(InvalidEvent, match="not UTF-8 JSON"):
        decode_event(b"{event_type: OrderPlaced}")


def test_json_that_is_not_an_object_is_rejected() -> None:
    with pytest.raises(InvalidEvent, match="not a JSON object but an array"):
        decode_event(b"[1, 2]")


def test_event_over_one_mebibyte_is_rejected() -> None:
    document = wire()
    document["data"]["shipping_address"] = "x" * MAX_EVENT_BYTES
    with pytest.raises(InvalidEvent, match="over the 1048576-byte limit"):
        decode_event(orjson.dumps(document))


def test_invalid_event_is_a_value_error_carrying_its_reason() -> None:
    error = InvalidEvent("broken")
    assert isinstance(error, ValueError)
    assert error.reason == "broken"


def test_every_payload_class_is_registered_under_its_own_name() -> None:
    assert all(cls.event_type == name == cls.__name__ for name, cls in PAYLOAD_TYPES.items())
    assert len(PAYLOAD_TYPES) == 19


def test_derived_event_ids_are_deterministic() -> None:
    command = ReserveStock(order_id="o-1", sku="MUG-RED", qty=2)
    first = derive(envelope(), command, seq=3)
    replayed = derive(decode_event(encode_event(envelope())), command, seq=3)
    assert first.event_id == replayed.event_id
    assert first == replayed


def test_derived_event_id_is_uuid5_of_cause_type_and_sequence() -> None:
    command = ReserveStock(order_id="o-1", sku="MUG-RED", qty=2)
    derived = derive(envelope(), command, seq=1)
    assert derived.event_id.version == 5
    assert derived.event_id == uuid5(NAMESPACE, f"{EVENT_ID}/ReserveStock/1")


def test_derived_events_of_one_cause_differ_by_sequence() -> None:
    command = ReserveStock(order_id="o-1", sku="MUG-RED", qty=2)
    first, second = derive(envelope(), command, seq=0), derive(envelope(), command, seq=1)
    assert first.event_id != second.event_id


def test_derived_event_carries_the_cause_and_its_time() -> None:
    cause = envelope()
    derived = derive(cause, ReserveStock(order_id="o-1", sku="MUG-RED", qty=2))
    assert derived.causation_id == cause.event_id
    assert derived.correlation_id == cause.correlation_id
    assert derived.occurred_at == cause.occurred_at
    assert derived.source == "ecommerce-streams"
    assert derived.event_type == "ReserveStock"


def test_envelope_is_immutable() -> None:
    with pytest.raises(ValidationError):
        envelope().correlation_id = "o-2"  # type: ignore[misc]


def test_deeply_nested_json_is_refused_not_crashing() -> None:
    with pytest.raises(InvalidEvent, match="not UTF-8 JSON"):
        decode_event(b"[" * 100_000 + b"]" * 100_000)


def test_payload_instance_of_another_type_than_event_type_is_rejected() -> None:
    command = ReserveStock(order_id="o-1", sku="MUG-RED", qty=2)
    with pytest.raises(ValidationError, match="instance of OrderPlaced"):
        Envelope(
            event_id=EVENT_ID,
            event_type="OrderPlaced",
            source="web",
            occurred_at=AT,
            correlation_id="o-1",
            data=command,
        )


def test_every_event_is_written_as_orjson_writes_its_json_form() -> None:
    escapes = StockAdjusted(sku="MUG-RED", delta=1, reason='\x00\x1f\x7f\u2028é🛒"\\/\b\f\n\r\t')
    events = [e for samples in events_by_type().values() for e in samples]
    adjusted = Envelope.of(escapes, event_id=EVENT_ID, source="warehouse", occurred_at=AT)
    for event in [*events, adjusted]:
        assert encode_event(event) == orjson.dumps(event.model_dump(mode="json"))


def test_every_derived_event_reads_back_as_the_event_derived() -> None:
    # derive builds envelopes from validated parts without validating them again
    derived = [e for samples in events_by_type().values() for e in samples if e.causation_id]
    assert {e.event_type for e in derived} >= {"ReserveStock", "StockReserved", "OrderConfirmed"}
    for event in derived:
        assert decode_event(encode_event(event)) == event
