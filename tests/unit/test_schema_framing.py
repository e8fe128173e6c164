"""Confluent's framing: magic byte 0, a big-endian schema id, the JSON; never confused with ours."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.envelope import encode_event
from models.schemas.framing import InvalidFraming, frame, is_framed, unframe
from tests.unit.event_samples import events_by_type


@given(st.integers(min_value=0, max_value=2**32 - 1), st.binary(min_size=1, max_size=64))
def test_a_framed_value_gives_back_its_id_and_payload(schema_id: int, payload: bytes) -> None:
    framed = frame(schema_id, payload)

    assert is_framed(framed)
    assert unframe(framed) == (schema_id, payload)


def test_the_header_is_byte_0_then_the_id_big_endian() -> None:
    assert frame(258, b"{}") == b"\x00\x00\x00\x01\x02{}"


def test_our_plain_json_events_are_never_taken_for_framed_ones() -> None:
    for events in events_by_type().values():
        assert not is_framed(encode_event(events[0]))
    assert not is_framed(None) and not is_framed(b"")


@pytest.mark.parametrize("raw", [b"\x00", b"\x00\x00\x00\x00\x07", b"\x01\x00\x00\x00\x07{}"])
def test_a_value_cut_short_or_without_the_magic_byte_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidFraming, match="byte 0, a 4-byte schema id and JSON"):
        unframe(raw)


@pytest.mark.parametrize("schema_id", [-1, 2**32])
def test_a_schema_id_outside_four_bytes_cannot_be_framed(schema_id: int) -> None:
    with pytest.raises(ValueError, match="schema id"):
        frame(schema_id, b"{}")
