"""Dead letters keep the failed message byte for byte, with where it came from and why."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from models.dead_letter import DeadLetter

FAILED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def letter(raw: bytes = b"\xff\x00not json", key: bytes | None = b"o-1") -> DeadLetter:
    """A dead letter for a message that failed to decode."""
    return DeadLetter.of(
        raw,
        key,
        source_topic="orders",
        partition=3,
        offset=42,
        error="not UTF-8 JSON",
        stage="orders",
        failed_at=FAILED_AT,
    )


def test_dead_letter_gives_back_the_original_bytes() -> None:
    assert letter().original() == b"\xff\x00not json"
    assert letter().original_key() == b"o-1"


def test_dead_letter_stores_key_and_value_as_base64() -> None:
    written = letter().__json__()
    assert written["raw"] == "/wBub3QganNvbg=="
    assert written["key"] == "by0x"


def test_dead_letter_without_a_key_keeps_none() -> None:
    assert letter(key=None).key is None
    assert letter(key=None).original_key() is None


def test_dead_letter_counts_its_first_attempt() -> None:
    assert letter().attempts == 1


def test_dead_letter_round_trips_through_json() -> None:
    assert DeadLetter.from_bytes(letter().to_bytes()) == letter()


def test_dead_letter_time_is_kept_in_utc() -> None:
    east = timezone(timedelta(hours=2))
    shifted = letter().model_copy(update={"first_failed_at": FAILED_AT.astimezone(east)})
    assert DeadLetter.from_data(shifted.__json__()).first_failed_at.tzinfo == UTC


def test_dead_letter_with_invalid_base64_is_rejected() -> None:
    written = letter().__json__() | {"raw": "not base64!"}
    with pytest.raises(ValidationError, match="expected standard base64"):
        DeadLetter.from_data(written)


def test_dead_letter_with_a_naive_time_is_rejected() -> None:
    with pytest.raises(ValidationError):
        DeadLetter.of(
            b"x",
            None,
            source_topic="orders",
            partition=0,
            offset=0,
            error="boom",
            stage="orders",
            failed_at=datetime(2026, 3, 1, 12, 0),
        )
