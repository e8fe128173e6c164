"""Admission to POST /events: a bounded number in flight and a bearer token when one is set."""

import pytest

from ecommerce_streams.web.admission import InflightLimit, require_bearer
from ecommerce_streams.web.problems import Problem


def test_requests_beyond_the_limit_are_told_to_retry_after_a_second() -> None:
    limit = InflightLimit(2)

    with limit.admit(), limit.admit(), pytest.raises(Problem) as caught, limit.admit():
        pass

    assert caught.value.status == 503
    assert caught.value.headers == {"Retry-After": "1"}


def test_a_place_is_given_back_when_a_request_ends_even_by_an_error() -> None:
    limit = InflightLimit(1)

    with pytest.raises(RuntimeError), limit.admit():
        raise RuntimeError("handler failed")
    with limit.admit():
        assert limit.in_flight == 1

    assert limit.in_flight == 0


def test_without_a_configured_token_no_header_is_needed() -> None:
    require_bearer(None, None)


def test_the_configured_token_is_accepted_whatever_the_scheme_case() -> None:
    require_bearer("Bearer s3cret", "s3cret")
    require_bearer("bearer s3cret", "s3cret")


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Bearer wrong", "Basic s3cret", "s3cret", "Bearer s3cret2"],
)
def test_a_missing_or_wrong_token_is_a_401_asking_for_a_bearer_token(
    authorization: str | None,
) -> None:
    with pytest.raises(Problem) as caught:
        require_bearer(authorization, "s3cret")

    assert caught.value.status == 401
    assert caught.value.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_header_with_undecodable_bytes_is_refused_not_an_error() -> None:
    with pytest.raises(Problem) as caught:
        require_bearer("Bearer \udcff\udcfe", "s3cret")

    assert caught.value.status == 401
