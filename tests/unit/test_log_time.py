"""Operators give points in time as ISO-8601; one without an offset means UTC."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ecommerce_streams.operations.consumer_group import parse_log_time


def test_a_time_without_offset_is_taken_as_utc() -> None:
    assert parse_log_time("2026-03-01T12:00:00") == datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_a_time_with_offset_keeps_it() -> None:
    paris = timezone(timedelta(hours=1))

    assert parse_log_time("2026-03-01T13:00:00+01:00") == datetime(2026, 3, 1, 13, tzinfo=paris)


def test_text_that_is_not_a_date_time_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'yesterday' is not an ISO-8601 date-time"):
        parse_log_time("yesterday")
